"""The gin decorator for Keras classes; a leaf (imports only gin and inspect),
so that the networks can be configurable without importing `config`, the
edge that imports every configurable module."""

import inspect

import gin


def configurable(cls):
  """`gin.configurable` for Keras classes.

  gin wraps `__init__` in a `(*args, **kwargs)` function; Keras inspects the
  argument spec of `__init__` when it creates an object, so the original
  signature is put back on the wrapper.
  """
  signature = inspect.signature(cls.__init__)
  cls = gin.configurable(cls)
  cls.__init__.__signature__ = signature
  return cls
