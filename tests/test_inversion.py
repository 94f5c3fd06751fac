"""The inversion-model interface over tiny exports: exported equals
in-process, batching does not change results, bad input is refused."""

import numpy as np
import pytest

from logit_gan.analyses import examples as examples_lib
from logit_gan.analyses import inversion
from logit_gan.analyses import results as results_lib

import analysis_models


@pytest.mark.slow
def test_exported_equals_in_process_and_batching_changes_nothing(tiny_exports):
  model = inversion.load(tiny_exports["robust"].rsplit("/", 1)[0],
                         batch_size=3)
  assert model.name == "robust" and model.method == "logit_gan"
  assert (model.num_classes, model.resolution) == (10, 16)
  assert model.dataset == {"name": "shapes_mini"}
  local = inversion.InProcessModel(analysis_models.tiny_generator(1),
                                   analysis_models.tiny_classifier(1001),
                                   name="local")
  rng = np.random.default_rng(0)
  logits = rng.normal(0, 3, (7, 10)).astype(np.float32)
  noise = model.sample_noise(7, seed=3)
  np.testing.assert_array_equal(noise, model.sample_noise(7, seed=3))
  np.testing.assert_array_equal(noise, local.sample_noise(7, seed=3))
  images = model.reconstruct(logits, noise)
  assert images.shape == (7, 16, 16, 3) and np.abs(images).max() <= 1
  np.testing.assert_allclose(images, local.reconstruct(logits, noise),
                             atol=1e-5)
  whole = inversion.load(tiny_exports["robust"], batch_size=64)
  np.testing.assert_allclose(images, whole.reconstruct(logits, noise),
                             atol=1e-5)
  np.testing.assert_allclose(model.classify(images), local.classify(images),
                             atol=1e-4)
  assert model.classify(images[:0]).shape == (0, 10)


@pytest.mark.slow
def test_bad_input_is_refused_naming_it(tiny_exports, tmp_path):
  model = inversion.load(tiny_exports["standard"])
  with pytest.raises(ValueError, match="logit width differs"):
    model.reconstruct(np.zeros((2, 11)), np.zeros((2, model.z_dim)))
  with pytest.raises(ValueError, match="resize the images"):
    model.classify(np.zeros((2, 32, 32, 3)))
  with pytest.raises(ValueError, match="NaN"):
    model.reconstruct(np.full((1, 10), np.nan), np.zeros((1, model.z_dim)))
  with pytest.raises(ValueError, match="not a SavedModel"):
    inversion.load(str(tmp_path))
  with pytest.raises(ValueError, match="share the name"):
    inversion.check_compatible([model, model])


def test_results_per_image_adds_paired_differences_and_writes(tmp_path):
  result = results_lib.Result("demo", settings={"k": 1})
  a = np.arange(50, dtype=float)
  result.add_per_image("distance", {"robust": a, "standard": a + 2.0},
                       shift=0.1)
  difference = result.get("distance", "robust - standard", shift=0.1)
  assert difference.mean == pytest.approx(-2.0)
  assert difference.low == pytest.approx(-2.0)  # Paired: no spread.
  assert result.get("distance", "robust", shift=0.1).contains(24.5)
  result.figures["grid.png"] = b"\x89PNG"
  results_lib.write(result, str(tmp_path), key="abc")
  records = results_lib.read_metrics(str(tmp_path))
  assert len(records) == 3 and records[2]["kind"] == "difference"
  assert results_lib.read_result(str(tmp_path), "demo")["key"] == "abc"
  results_lib.write(result, str(tmp_path))  # Replaced, not appended.
  assert len(results_lib.read_metrics(str(tmp_path))) == 3


def test_examples_refuse_wrong_shapes_and_subset():
  with pytest.raises(ValueError, match=r"\[N, R, R, 3\]"):
    examples_lib.Examples(np.zeros((2, 16, 8, 3)))
  with pytest.raises(ValueError, match="No test images"):
    examples_lib.Examples(np.zeros((0, 16, 16, 3)))
  ex = examples_lib.Examples(np.zeros((4, 16, 16, 3)), np.arange(4),
                             {"hue": np.arange(4.0)})
  assert ex.subset([1, 3]).factors["hue"].tolist() == [1.0, 3.0]
