# syntax=docker/dockerfile:1
# The project's processing and monitoring image. Preprocess, evaluate, baseline and monitor run in it
# as `python3 -m processing_scripts.<script>`; the pipeline sets ContainerEntrypoint, so there is no
# ENTRYPOINT here. Nothing in it imports the sagemaker SDK (see processing_scripts/requirements.txt).
#
# CI builds and pushes it. Its tag is a content digest of this file and processing_scripts/
# (`settings.processing_image_tag()`), so the tag changes exactly when the image content does and the
# pipeline definitions stay byte-identical otherwise. Locally: `make image` (needs Docker).
# The base by digest, not by tag: a tag moves, a digest is the exact image (refresh deliberately:
# `docker buildx imagetools inspect python:3.11-slim` prints the current index digest). It is a build
# argument so that a machine without a registry can build this same file from a stand-in it made
# offline (.ci/offline-base-image; `make base-image`): `--build-arg BASE_IMAGE=...`.
ARG BASE_IMAGE=python:3.11-slim@sha256:9c900dea9e8fb7e16277c179b555cc72d29a352dbc33cff48ad5a0412fd5bfc7
FROM ${BASE_IMAGE}

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/opt/program \
    MPLBACKEND=Agg

# Dependencies first, in their own layer: rebuilt only when the lock changes, not on every code
# edit. requirements.lock pins every transitive package with its hashes (resolved from
# requirements.txt within the project's requirements.lock, so the image runs what the tests ran);
# pip refuses any file whose hash is not listed. The wheels are manylinux builds that bring their
# native libraries (xgboost-cpu bundles libgomp), so no apt packages are needed. Building
# matplotlib's font cache here saves every job a few seconds at start.
COPY processing_scripts/requirements.lock /tmp/requirements.lock
RUN pip install --require-hashes --no-deps --requirement /tmp/requirements.lock \
    && rm /tmp/requirements.lock \
    && python -c "import matplotlib.font_manager"

# Runs as root: SageMaker mounts /opt/ml/processing/* owned by root and the jobs write there.
COPY processing_scripts /opt/program/processing_scripts
# Every example's description (the jobs read their own: MLOPS_EXAMPLE, default abalone); no data.
COPY examples /opt/program/examples
WORKDIR /opt/program
