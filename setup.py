"""lr_plugin: Keras callbacks that record what the learning rate really did, and a
TensorBoard plugin that shows it."""

import pathlib

import setuptools

HERE = pathlib.Path(__file__).parent

setuptools.setup(
    name="lr_plugin",
    version="0.1.0",
    description=(
        "Keras 3 callbacks that log the effective learning rate, plateau decisions "
        "and cooldowns, and a TensorBoard plugin that draws them beside the loss."
    ),
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="MIT",
    python_requires=">=3.10",
    packages=setuptools.find_packages(include=["lr_plugin", "lr_plugin.*"]),
    package_data={"lr_plugin": ["static/*", "static/**/*"]},
    # The callbacks run on any Keras 3 backend and the read side (export, the
    # TensorBoard plugin) needs no TensorFlow, so TensorFlow is an extra: a
    # JAX or PyTorch user does not download 570 MB they never import.
    install_requires=[
        # 3.15.0: the callbacks override ReduceLROnPlateau._reduce_optimizer_lr and
        # LearningRateScheduler._update_optimizer_lr, which Keras added then.
        "keras>=3.15.0",
        "tensorboard>=2.16.2",
        "protobuf>=3.20.3",
        "numpy>=1.23.5",
        # A compiled CRC32C: the TF-free event-file reader checks every record.
        "google-crc32c>=1.5.0",
    ],
    extras_require={
        "tensorflow": ["tensorflow>=2.16"],
        "jax": ["jax>=0.4.30"],  # Keras 3.15 imports jax.export
        "test": [
            "pytest>=7",
            "playwright>=1.40",
            "werkzeug>=2",
        ],
    },
    entry_points={
        "tensorboard_plugins": [
            "lr_timeline = lr_plugin.serve.tb_loader:LrTimelineLoader",
        ],
        "console_scripts": [
            "lr-plugin = lr_plugin.tools.cli:main",
        ],
    },
    classifiers=[
        "Framework :: TensorFlow",
        "Programming Language :: Python :: 3",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
)
