"""The demo's web app: three pages and a JSON API over the models and runs it serves.

Pages (static files, no build step, nothing fetched from outside): `/` draw or upload and watch
a network read it, its layer graph, a node's maps, filters, saliency and receptive fields, a conv
unit's multiply-and-sum; `/learn` the lectures' worked cross-correlations; `/runs` training
curves, live, and studies. docs/demo.md lists every endpoint with an example.

Every bad request gets 400/413/415/503 and `{"error": "..."}`; limits are checked before anything
is decoded: the body (declared and actually streamed) and the image's header dimensions.
"""

from __future__ import annotations

import io
import logging
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from ..errors import ConvzooError
from ..infer import ImageTooLarge, UnsupportedImage, read_image
from .body import IMAGE_TYPES, BodyTooLarge, ClientGone, image_from_json, read_body, upload_from_multipart
from .examples import examples_json
from .inspect import inspect_node
from .learn import corr2d_example
from .limits import Busy, Queues, check_pixels
from .models import MAX_LOADED, LiveModel, ModelStore, available_models
from .payload import analysis_json, segmentation_json
from .runs import Runs, TooManyStreams, check_runs_folder

STATIC = Path(__file__).resolve().parent / "static"
PAGES = {"/": "index.html", "/learn": "learn.html", "/runs": "runs.html"}
BODY_TYPES = ("application/json", "multipart/form-data", *IMAGE_TYPES)


def error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ConvzooError)
    async def user_error(_request, exc: ConvzooError):
        if isinstance(exc, ClientGone):  # one line in the log; the answer goes nowhere
            logging.getLogger("uvicorn.error").warning("%s", exc)
        status = 413 if isinstance(exc, (BodyTooLarge, ImageTooLarge)) else 415 if isinstance(
            exc, UnsupportedImage) else 503 if isinstance(exc, (TooManyStreams, Busy)) else 400
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


async def image_of(request: Request, store: ModelStore, model: str | None):
    """(the request's image, decoded off the event loop, and the model key it names)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in BODY_TYPES:
        raise UnsupportedImage(f"Content-Type {content_type or '(none)'!r} is not supported: send "
                               "application/json, image/png, image/jpeg or multipart/form-data")
    if model is not None:
        store.entry(model)  # an unknown model fails before the body is read
    body = await read_body(request)
    named = None
    if content_type == "multipart/form-data":
        body, named = await upload_from_multipart(request, body)
    if content_type == "application/json":
        image, named = await run_in_threadpool(image_from_json, body)
    else:
        image = await run_in_threadpool(read_image, io.BytesIO(body))
    return image, model or named


def create_app(checkpoint: str | Path | None = None, runs: str | Path | Runs | None = None,
               capacity: int = MAX_LOADED, model: LiveModel | None = None) -> FastAPI:
    """The demo app serving `checkpoint` (first in the picker), the installed pretrained models,
    the zoo and every trained run under `runs`; at most `capacity` models loaded at once. A bad
    checkpoint or an empty runs folder fails here, in one line.

    `model`, a module in memory, is served alone (the one way to serve a module that no checkpoint
    rebuilds: `convzoo.explore`, `convzoo demo --model`); `runs` may then be a `Runs` of its own
    (`LiveRuns`: the runs that train it)."""
    folder = runs_folder(runs)
    entries = [model.entry()] if model is not None else available_models(
        None if checkpoint is None else str(checkpoint), runs)
    store = ModelStore(entries, capacity)
    store.get(None)  # the default model loads now: a checkpoint that is not ours fails at start
    app = FastAPI(title="convzoo demo", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.store, app.state.runs, app.state.stopping = store, folder, False
    add_error_handlers(app)
    add_page_routes(app)
    add_model_routes(app, store, folder)
    add_image_routes(app, store)
    add_learn_routes(app)
    add_run_routes(app, folder)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


def runs_folder(runs: str | Path | Runs | None) -> Runs | None:
    """The runs the app serves: a `Runs` as given, a folder checked first (empty fails), or none."""
    if isinstance(runs, Runs):
        return runs
    if runs is None:
        return None
    check_runs_folder(runs)
    return Runs(runs)


def add_page_routes(app: FastAPI) -> None:
    for route, page in PAGES.items():
        app.add_api_route(route, (lambda page=page: FileResponse(STATIC / page)), include_in_schema=False)


def add_model_routes(app: FastAPI, store: ModelStore, folder: Runs | None) -> None:
    """What is served: health, the model list, one model's description, graph and examples."""
    @app.get("/api/health")
    async def health():
        return {"status": "ok", "models": list(store.entries), "default_model": store.default,
                "runs": folder is not None}

    @app.get("/api/models")
    async def models():
        return {"models": store.listing(), "default_model": store.default, "loaded_at_most": store.capacity}

    @app.get("/api/model")
    async def model(model: str | None = None):
        return (await run_in_threadpool(store.get, model)).info()

    @app.get("/api/graph")
    async def graph(model: str | None = None):
        served = await run_in_threadpool(store.get, model)
        layer_graph, _ = await run_in_threadpool(served.graph)
        return {**layer_graph.to_dict(), "model": served.entry.key}

    @app.get("/api/examples")
    async def examples(model: str | None = None):
        served = await run_in_threadpool(store.get, model)
        return await run_in_threadpool(examples_json, served)


def add_image_routes(app: FastAPI, store: ModelStore) -> None:
    """The routes that read a posted image: a prediction and one node's maps."""
    queues = Queues()  # limits.py: requests per model

    @app.post("/api/predict")
    async def predict(request: Request, model: str | None = None):
        image, key = await image_of(request, store, model)

        def answer() -> dict:
            served = store.get(key)
            check_pixels(served.predictor.task, image)
            with queues.slot(served.entry.key), served.lock:
                if served.predictor.task == "segmentation":
                    return segmentation_json(served.predictor.segment(image), served.predictor.classes,
                                             served.entry.key)
                analysis = served.predictor.analyse(image)
            return analysis_json(analysis, served.predictor.classes, served.entry.key)

        return await run_in_threadpool(answer)

    @app.post("/api/inspect")
    async def inspect(request: Request, node: str, model: str | None = None, c: int | None = None,
                      y: int | None = None, x: int | None = None):
        image, key = await image_of(request, store, model)
        unit = None if y is None or x is None else (c or 0, y, x)
        def answer() -> dict:
            served = store.get(key)
            check_pixels(served.predictor.task, image)
            with queues.slot(served.entry.key):
                return inspect_node(served, image, node, unit)

        return await run_in_threadpool(answer)


def add_learn_routes(app: FastAPI) -> None:
    @app.get("/api/corr2d")
    async def corr2d(example: str = "corr2d", padding: int | None = None, stride_h: int | None = None,
                     stride_w: int | None = None, channels: int | None = None):
        return corr2d_example(example, padding, stride_h, stride_w, channels)


def add_run_routes(app: FastAPI, folder: Runs | None) -> None:
    def runs() -> Runs:
        if folder is None:
            raise ConvzooError("this server has no runs folder: start it with convzoo demo --runs DIR")
        return folder

    @app.get("/api/runs")
    async def listing():
        return await run_in_threadpool(runs().listing)

    @app.get("/api/runs/metrics")
    async def metrics(run: str):
        return {"run": run, "rows": await run_in_threadpool(runs().metrics, run)}

    @app.get("/api/runs/stream")
    async def stream(request: Request, run: str):
        folder_ = runs()
        folder_.resolve(run)  # an unknown run is a 400 before any stream opens
        folder_.check_streams()
        events = folder_.stream(run, request.is_disconnected, lambda: app.state.stopping)
        return StreamingResponse(events, media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    @app.get("/api/runs/figure")
    async def figure(study: str, name: str):
        return Response(await run_in_threadpool(runs().figure, study, name), media_type="image/png")
