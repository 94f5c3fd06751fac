#!/usr/bin/env python3
"""Sends a request to TF Serving over gRPC (tensorflow-serving-api).

  pip install tensorflow-serving-api   # with tensorflow; or --no-deps
  python export/grpc_predict.py --server=localhost:8500 \
      --model=shapes_robust \
      --request=export/requests/reconstruct_from_logits_seeded.json \
      --out=served.png

The request file is a REST body ({"signature_name", "instances"}); its rows
become one PredictRequest with a tensor per input, typed as the exported
signatures declare (INPUT_DTYPES). The uint8 images of the reply are
written side by side as a PNG. Needs no logit_gan.
"""

import argparse
import json

import numpy as np
import tensorflow as tf

# The dtype of every input of logit_gan's exported signatures.
INPUT_DTYPES = {"logits": tf.float32, "noise": tf.float32,
                "seed": tf.int64, "images": tf.uint8}


def build_request(model_name: str, body: dict):
  """A PredictRequest from a REST-style body (row format)."""
  from tensorflow_serving.apis import predict_pb2
  request = predict_pb2.PredictRequest()
  request.model_spec.name = model_name
  request.model_spec.signature_name = body.get("signature_name",
                                               "serving_default")
  rows = body["instances"]
  for name in rows[0]:
    values = np.asarray([row[name] for row in rows],
                        INPUT_DTYPES[name].as_numpy_dtype)
    request.inputs[name].CopyFrom(tf.make_tensor_proto(values))
  return request


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--server", default="localhost:8500")
  parser.add_argument("--model", default="shapes_robust")
  parser.add_argument("--request", required=True)
  parser.add_argument("--out", default="served.png")
  parser.add_argument("--timeout", type=float, default=30.0)
  args = parser.parse_args()
  import grpc
  from tensorflow_serving.apis import prediction_service_pb2_grpc
  with open(args.request) as f:
    request = build_request(args.model, json.load(f))
  channel = grpc.insecure_channel(args.server)
  stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
  reply = stub.Predict(request, args.timeout)
  outputs = {name: tf.make_ndarray(proto)
             for name, proto in reply.outputs.items()}
  key = next((k for k in ("images", "reconstructions") if k in outputs),
             None)
  if key is None:  # describe: no images.
    print(outputs)
    return
  images = outputs[key]
  tf.io.write_file(args.out, tf.io.encode_png(np.concatenate(list(images), 1)))
  print(f"Wrote {len(images)} image(s) to {args.out}.")


if __name__ == "__main__":
  main()
