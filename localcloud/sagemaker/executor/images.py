"""What a job's image is, read from its URI alone: the project's own, a framework image, a built-in algorithm.

The local executor never pulls an image; it runs the job's code with this interpreter. Whether
that is faithful depends on the image: the project's image and AWS's framework images
(scikit-learn, XGBoost, PyTorch, ...) run a Python script the job names, which runs here when the
framework's Python package is installed; a built-in algorithm's code is inside the image, so only
the one this executor emulates (XGBoost) can run. The repository names are those of the SageMaker
Python SDK's image catalogue (``sagemaker/core/image_uri_config/*.json``).
"""

from __future__ import annotations

import enum
import importlib.util
from dataclasses import dataclass

XGBOOST_REPOSITORY = "sagemaker-xgboost"


@dataclass(frozen=True)
class Framework:
    name: str
    modules: tuple[str, ...]  # what the image's Python imports: ``sklearn``
    packages: tuple[str, ...]  # what to install for them: ``scikit-learn``


_SKLEARN = Framework("scikit-learn", ("sklearn",), ("scikit-learn",))
_XGBOOST = Framework("XGBoost", ("xgboost",), ("xgboost",))
_PYTORCH = Framework("PyTorch", ("torch",), ("torch",))
_TENSORFLOW = Framework("TensorFlow", ("tensorflow",), ("tensorflow",))
_MXNET = Framework("MXNet", ("mxnet",), ("mxnet",))
_HUGGINGFACE = Framework("Hugging Face Transformers", ("transformers",), ("transformers",))
FRAMEWORKS: dict[str, Framework] = {
    "sagemaker-scikit-learn": _SKLEARN,
    XGBOOST_REPOSITORY: _XGBOOST,
    "pytorch-training": _PYTORCH,
    "pytorch-inference": _PYTORCH,
    "sagemaker-pytorch": _PYTORCH,
    "tensorflow-training": _TENSORFLOW,
    "tensorflow-inference": _TENSORFLOW,
    "sagemaker-tensorflow-scriptmode": _TENSORFLOW,
    "mxnet-training": _MXNET,
    "mxnet-inference": _MXNET,
    "huggingface-pytorch-training": _HUGGINGFACE,
    "huggingface-pytorch-inference": _HUGGINGFACE,
    "huggingface-tensorflow-training": _HUGGINGFACE,
}
# Algorithms whose code only exists inside their image (``xgboost`` is the 0.72 built-in XGBoost).
BUILTIN_ALGORITHMS = frozenset(
    {
        "blazingtext", "factorization-machines", "forecasting-deepar", "image-classification",
        "ipinsights", "kmeans", "knn", "lda", "linear-learner", "ntm", "object-detection",
        "object2vec", "pca", "randomcutforest", "semantic-segmentation", "seq2seq", "xgboost",
    }
)  # fmt: skip


class ImageKind(enum.Enum):
    PROJECT = "the project's image"
    FRAMEWORK = "a framework image"
    BUILTIN_ALGORITHM = "a built-in algorithm"
    OTHER = "another image"


@dataclass(frozen=True)
class Image:
    uri: str
    repository: str  # the repository's last path component: ``sagemaker-scikit-learn``
    tag: str
    kind: ImageKind
    framework: Framework | None = None

    @property
    def label(self) -> str:
        """How messages name the image: ``sagemaker-scikit-learn:1.2-1``."""
        return f"{self.repository}:{self.tag}" if self.tag else self.repository


def classify(uri: str, project_image_uri: str) -> Image:
    """The kind of image ``uri`` names (``sagemaker-xgboost`` is a framework image here; a training
    job without ``sagemaker_program`` runs it as the built-in algorithm, see ``steps.training``)."""
    path, _, tag = uri.rpartition(":") if ":" in uri.rsplit("/", 1)[-1] else (uri, "", "")
    path = path.split("@", 1)[0]  # a digest reference: repository@sha256:...
    repository = path.rsplit("/", 1)[-1]
    project_repository = project_image_uri.rpartition(":")[0]
    if path == project_repository:
        return Image(uri, repository, tag, ImageKind.PROJECT)
    if repository in FRAMEWORKS:
        return Image(uri, repository, tag, ImageKind.FRAMEWORK, FRAMEWORKS[repository])
    if repository in BUILTIN_ALGORITHMS:
        return Image(uri, repository, tag, ImageKind.BUILTIN_ALGORITHM)
    return Image(uri, repository, tag, ImageKind.OTHER)


def missing_modules(image: Image) -> list[str]:
    """The framework packages the image has and this environment lacks (``[]`` when all are here)."""
    if image.framework is None:
        return []
    return [module for module in image.framework.modules if importlib.util.find_spec(module) is None]


def missing_framework_problem(image: Image) -> str | None:
    """One line naming what to install for a framework image's code to run here, or None."""
    missing = missing_modules(image)
    if not missing or image.framework is None:
        return None
    return (
        f"image {image.label} provides {image.framework.name}; this environment lacks the Python "
        f"module{'s' if len(missing) > 1 else ''} {', '.join(missing)}: install "
        f"{', '.join(image.framework.packages)} into the venv the executor runs in"
    )
