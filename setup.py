"""logit_gan: feedforward inversion of classifier logits (Teterwak et al. 2021)."""

import pathlib

import setuptools

ROOT = pathlib.Path(__file__).parent
CONSOLE_SCRIPTS = {
    "describe_models": "logit_gan.cli.describe_models:run",
    "train_classifier": "logit_gan.cli.train_classifier:run",
    "cache_logits": "logit_gan.cli.cache_logits:run",
    "train": "logit_gan.cli.train:run",
    "export": "logit_gan.cli.export:run",
    "reconstruct": "logit_gan.cli.reconstruct:run",
    "logit_probe": "logit_gan.cli.logit_probe:run",
    "analyze": "logit_gan.cli.analyze:run",
    "report": "logit_gan.cli.report:run",
    "demo": "logit_gan.cli.demo:run",
}

setuptools.setup(
    name="logit_gan",
    version="0.1.0",
    description=("Reconstruct images from a frozen classifier's logits with a "
                 "logit-conditioned BigGAN (Keras 3 / TensorFlow 2)."),
    long_description=(ROOT / "README.md").read_text(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=setuptools.find_packages(include=["logit_gan", "logit_gan.*"]),
    # tensorflow-cpu here; GPU users install tensorflow[and-cuda] instead
    # (see README). tensorflow-addons is deliberately absent: it is end-of-life
    # and does not import under Keras 3.
    install_requires=[
        "tensorflow-cpu>=2.21,<2.22; platform_machine=='x86_64'",
        "tensorflow>=2.21,<2.22; platform_machine!='x86_64'",
        "keras>=3.10,<4",
        "gin-config>=0.5",
        "tensorflow-datasets>=4.9",
        # TFDS 4.9.10 imports it when preparing any dataset but declares it
        # only for Python < 3.9 (tensorflow/datasets#11212).
        "importlib_resources",
        "absl-py>=2.1",
        # tf.summary writes through TensorBoard; tensorflow-cpu does not
        # bring it.
        "tensorboard>=2.21,<2.22",
        "numpy>=1.26",
        # The analyses' plots (Agg backend; no display needed).
        "matplotlib>=3.8",
    ],
    extras_require={"test": ["pytest>=8", "pytest-xdist>=3.5", "hypothesis>=6",
                             # The report's browser test (with Debian's
                             # chromium and chromium-driver).
                             "selenium>=4.20"]},
    entry_points={"console_scripts": [
        f"logit_gan_{name}={target}" for name, target in CONSOLE_SCRIPTS.items()
    ]},
    data_files=[
        (f"share/logit_gan/{folder.relative_to(ROOT)}",
         [str(p.relative_to(ROOT)) for p in folder.glob("*.gin")])
        for folder in [ROOT / "gin_configs", *(ROOT / "gin_configs").iterdir()]
        if folder.is_dir()],
)
