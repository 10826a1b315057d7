"""Reading a demo request's body: size limits checked before anything is decoded (the declared
length, then the bytes actually streamed), JSON pixels, multipart uploads."""

from __future__ import annotations

import json

from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import ClientDisconnect, Request

from ..data.preprocess import image_from_pixels
from ..errors import ConvzooError
from ..infer import MAX_SIDE, ImageTooLarge, UnsupportedImage

MAX_BODY = 2 * 1024 * 1024  # bytes
IMAGE_TYPES = ("image/png", "image/jpeg")


class BodyTooLarge(ConvzooError):
    pass


class ClientGone(ConvzooError):
    """The client closed the connection before its request arrived: nobody to answer."""


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
    model = data.get("model")
    if model is not None and not isinstance(model, str):
        raise ConvzooError("model must be a string")
    return image_from_pixels(width, height, pixels), model


async def upload_from_multipart(request: Request, body: bytes) -> tuple[bytes, str | None]:
    """(the bytes of the `image` file field, the optional `model` field)."""
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
    model = form.get("model")
    return data, model if isinstance(model, str) else None
