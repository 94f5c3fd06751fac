"""The gin decorator for Keras classes and the analyses' experiments; a leaf
(imports only gin and inspect), so that the networks and the experiments can
be configurable without importing `config`, the edge that imports every
configurable module."""

import inspect

import gin


def configurable(cls_or_name, **options):
  """`gin.configurable` that keeps a Keras class's signature.

  `@configurable` on a class registers it under its own name;
  `@configurable("logit_probe", denylist=["models", "examples"])` on a
  class or function registers it under that name (the analyses'
  experiments: `logit_probe.splits = 2`). `options` are gin's (`allowlist`,
  `denylist`, `module`).

  gin wraps `__init__` in a `(*args, **kwargs)` function; Keras inspects the
  argument spec of `__init__` when it creates an object, so the original
  signature is put back on the wrapper.
  """
  if isinstance(cls_or_name, str):
    return lambda target: _register(target, cls_or_name, options)
  return _register(cls_or_name, None, options)


def _register(target, name, options):
  decorate = gin.configurable(name, **options)
  if not inspect.isclass(target):
    return decorate(target)
  signature = inspect.signature(target.__init__)
  target = decorate(target)
  target.__init__.__signature__ = signature
  return target
