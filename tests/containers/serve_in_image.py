"""SageMaker's inference contract served from inside the project's image (mounted in, run there).

In AWS the model is hosted by the XGBoost serving image, which calls the inference script's four
hooks (``model_fn``, ``input_fn``, ``predict_fn``, ``output_fn``) for each request, as
``processing_scripts/inference.py`` describes. That image cannot be pulled here, so this stand-in
does the same with the standard library: the model from ``/opt/ml/model`` (where hosting extracts
``model.tar.gz``), ``GET /ping`` and ``POST /invocations`` on port 8080. What it proves is that the
project's image holds everything the hooks import and that they answer in a container as they do
in the Docker-free endpoint. It imports only the standard library and ``processing_scripts``.
"""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from processing_scripts import inference

MODEL_DIR = "/opt/ml/model"
PORT = 8080


class Handler(BaseHTTPRequestHandler):
    model = inference.model_fn(MODEL_DIR)

    def do_GET(self) -> None:
        if self.path == "/ping":
            self._send(200, "text/plain", b"")
        else:
            self._send(404, "text/plain", b"not found\n")

    def do_POST(self) -> None:
        if self.path != "/invocations":
            self._send(404, "text/plain", b"not found\n")
            return
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        try:
            features = inference.input_fn(body, self.headers.get("Content-Type", ""))
            predictions = inference.predict_fn(features, self.model)
            answer = inference.output_fn(predictions, self.headers.get("Accept"))
        except inference.InferenceError as err:
            self._send(400, "text/plain", f"{err}\n".encode())
            return
        self._send(200, inference.CONTENT_TYPE, answer)

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


if __name__ == "__main__":
    ThreadingHTTPServer(("0.0.0.0", PORT), Handler).serve_forever()  # every interface: inside the container
