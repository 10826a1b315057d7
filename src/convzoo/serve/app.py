"""The demo's web app: a drawing page and a small JSON API over `Predictor`.

Endpoints (docs/demo.md has examples):
- `GET /` the page (static files, no build step, works offline);
- `GET /api/health`, `GET /api/model?mode=digits` (the model card);
- `POST /api/predict?mode=digits` with JSON `{"width", "height", "pixels"}`, a raw PNG/JPEG body
  (`Content-Type: image/png` or `image/jpeg`), or multipart form data with an `image` file.

Every bad request gets 400/413/415 and `{"error": "..."}`; limits are checked before anything
is decoded: the body (declared and actually streamed) and the image's header dimensions.
"""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import ClientDisconnect

from ..data.preprocess import image_from_pixels
from ..errors import ConvzooError
from ..infer import MAX_SIDE, ImageTooLarge, Predictor, UnsupportedImage, read_image
from ..train.checkpoint import PRETRAINED, resolve_checkpoint
from .payload import analysis_json

MAX_BODY = 2 * 1024 * 1024  # bytes
STATIC = Path(__file__).resolve().parent / "static"
MODE_OF_DATA = {"mnist": "digits", "mnist-sample": "digits", "fashion-mnist": "fashion"}
IMAGE_TYPES = ("image/png", "image/jpeg")


class BodyTooLarge(ConvzooError):
    pass


class ClientGone(ConvzooError):
    """The client closed the connection before its request arrived: nobody to answer."""


def load_predictors(checkpoint: str | Path | None) -> dict[str, Predictor]:
    """Mode name -> Predictor: `checkpoint` first (the page's default mode), then every installed
    pretrained model whose mode it does not already fill."""
    predictors: dict[str, Predictor] = {}
    refs = ([checkpoint] if checkpoint is not None else []) + list(PRETRAINED)
    for ref in refs:
        if ref != checkpoint:
            try:
                resolve_checkpoint(ref)
            except ConvzooError:
                continue  # a pretrained model that is not installed: serve without it
        predictor = Predictor(ref)
        mode = MODE_OF_DATA.get(predictor.data["name"], predictor.data["name"])
        predictors.setdefault(mode, predictor)
    if not predictors:
        raise ConvzooError("no model to serve: pass --checkpoint (no pretrained weights are installed)")
    return predictors


async def read_body(request: Request) -> bytes:
    """The request body, refusing more than MAX_BODY bytes whether declared or actually sent."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise ConvzooError("bad Content-Length header")
        if int(declared) > MAX_BODY:
            raise BodyTooLarge(f"request body of {int(declared):,} bytes is over the {MAX_BODY:,}-byte limit")
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_BODY:
                raise BodyTooLarge(f"request body is over the {MAX_BODY:,}-byte limit")
            chunks.append(chunk)
    except ClientDisconnect:
        raise ClientGone(f"client {_client(request)} went away after {size:,} bytes of its request body") from None
    body = b"".join(chunks)
    if not body:
        raise ConvzooError("empty request body: send JSON pixels or a PNG/JPEG image")
    return body


def _client(request: Request) -> str:
    return f"{request.client.host}:{request.client.port}" if request.client else "unknown"


def image_from_json(body: bytes):
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ConvzooError("body is not valid JSON") from None
    except RecursionError:  # e.g. 200,000 nested brackets: bad input, not a server fault
        raise ConvzooError("body is JSON nested too deeply (pixels are a flat list)") from None
    if not isinstance(data, dict) or not {"width", "height", "pixels"} <= data.keys():
        raise ConvzooError('JSON must be an object {"width": W, "height": H, "pixels": [...]}')
    width, height, pixels = data["width"], data["height"], data["pixels"]
    if not isinstance(pixels, list):
        raise ConvzooError("pixels must be a flat list of numbers 0-255")
    if isinstance(width, int) and isinstance(height, int) and max(width, height) > MAX_SIDE:
        raise ImageTooLarge(f"{width}x{height} is larger than {MAX_SIDE}x{MAX_SIDE} pixels")
    mode = data.get("mode")
    if mode is not None and not isinstance(mode, str):
        raise ConvzooError("mode must be a string")
    return image_from_pixels(width, height, pixels), mode


async def upload_from_multipart(request: Request, body: bytes) -> tuple[bytes, str | None]:
    """(the bytes of the `image` file field, the optional `mode` field)."""
    async def stream():
        yield body

    try:
        form = await MultiPartParser(request.headers, stream(), max_files=1, max_fields=4).parse()
    except MultiPartException as exc:
        raise ConvzooError(f"bad multipart body ({exc.message})") from None
    upload = form.get("image")
    if upload is None or isinstance(upload, str):
        raise ConvzooError('multipart body needs a file field named "image"')
    if upload.content_type and upload.content_type not in (*IMAGE_TYPES, "application/octet-stream"):
        raise UnsupportedImage(f"{upload.content_type} is not supported (PNG or JPEG only)")
    data = await upload.read()
    if not data:
        raise ConvzooError("the uploaded image is empty")
    mode = form.get("mode")
    return data, mode if isinstance(mode, str) else None


def error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def create_app(checkpoint: str | Path | None = None) -> FastAPI:
    """The demo app serving `checkpoint` (default: the pretrained `digits`) plus the other
    installed pretrained models, one per mode."""
    predictors = load_predictors(checkpoint)
    default_mode = next(iter(predictors))
    app = FastAPI(title="convzoo demo", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.modes = list(predictors)

    def predictor_for(mode: str | None) -> tuple[str, Predictor]:
        mode = mode or default_mode
        if mode not in predictors:
            raise ConvzooError(f"unknown mode {mode!r}; this server has {', '.join(predictors)}")
        return mode, predictors[mode]

    @app.exception_handler(ConvzooError)
    async def user_error(_request, exc: ConvzooError):
        if isinstance(exc, ClientGone):  # one line in the log; the answer goes nowhere
            logging.getLogger("uvicorn.error").warning("%s", exc)
        status = 413 if isinstance(exc, (BodyTooLarge, ImageTooLarge)) else 415 if isinstance(
            exc, UnsupportedImage) else 400
        return error(status, str(exc))

    @app.exception_handler(HTTPException)
    async def http_error(_request, exc: HTTPException):
        return error(exc.status_code, str(exc.detail))

    @app.exception_handler(Exception)
    async def bug(_request, exc: Exception):  # logged by uvicorn; the client still gets JSON
        return error(500, f"internal error ({type(exc).__name__})")

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request, exc: RequestValidationError):
        return error(400, "; ".join(str(e.get("msg")) for e in exc.errors()) or "bad request")

    @app.get("/", include_in_schema=False)
    async def index():
        return FileResponse(STATIC / "index.html")

    @app.get("/api/health")
    async def health():
        return {"status": "ok", "modes": list(predictors), "default_mode": default_mode}

    @app.get("/api/model")
    async def model(mode: str | None = None):
        mode, predictor = predictor_for(mode)
        return {"mode": mode, "classes": predictor.classes, "card": predictor.card}

    @app.post("/api/predict")
    async def predict(request: Request, mode: str | None = None):
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type not in ("application/json", "multipart/form-data", *IMAGE_TYPES):
            raise UnsupportedImage(f"Content-Type {content_type or '(none)'!r} is not supported: send "
                                   "application/json, image/png, image/jpeg or multipart/form-data")
        if mode is not None:
            predictor_for(mode)  # an unknown mode fails before the body is read
        body = await read_body(request)
        body_mode = None
        if content_type == "multipart/form-data":
            body, body_mode = await upload_from_multipart(request, body)

        def answer() -> dict:  # decoding and the network run off the event loop, in one hop
            nonlocal body_mode
            if content_type == "application/json":
                image, body_mode = image_from_json(body)
            else:
                image = read_image(io.BytesIO(body))
            name, predictor = predictor_for(mode or body_mode)
            return analysis_json(predictor.analyse(image), predictor.classes, name)

        return await run_in_threadpool(answer)

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
