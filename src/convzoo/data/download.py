"""Downloads that never leave a partial or unverified file behind.

The payload streams into a temporary file beside the destination, is checked by SHA-256 (of the
decompressed bytes for .gz files whose archive may be recompressed, as Debian's are), and only
then renamed into place. Any failure removes the temporary file.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import os
import time
import urllib.error
import urllib.request
import zlib
from pathlib import Path

from ..atomic import cannot_write, new_temporary
from ..errors import DataError

CHUNK = 1 << 20


def sha256_file(path: Path, decompress: bool = False) -> str:
    digest = hashlib.sha256()
    opener = gzip.open if decompress else open
    try:
        with opener(path, "rb") as f:
            while chunk := f.read(CHUNK):
                digest.update(chunk)
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"{path}: cannot read ({exc})") from None
    return digest.hexdigest()


def download(url: str, dest: Path, sha256: str, *, payload: bool = False, timeout: float = 60,
             progress: bool = False, max_bytes: int | None = None, deadline: float | None = None) -> Path:
    """Fetch `url` to `dest`, verifying `sha256` of the file (or of its gunzipped payload).

    `timeout` bounds each network operation; `deadline` (seconds) the whole transfer, against a
    server that trickles a byte at a time; `max_bytes` what is accepted (a known file's size).
    Raises DataError on a network failure, a short or long read, a deadline passed or a checksum
    mismatch; `dest` is then untouched and no temporary file remains.
    """
    dest = Path(dest)
    tmp = new_temporary(dest, ".part")
    try:
        try:
            with open(tmp, "wb") as out:
                _stream(url, out, timeout, progress, max_bytes,
                        None if deadline is None else time.monotonic() + deadline)
        except OSError as exc:  # the network's errors are DataErrors already: this is the disk
            raise cannot_write(dest, exc) from None
        actual = sha256_file(tmp, decompress=payload)
        if actual != sha256:
            raise DataError(f"{url}: checksum mismatch (sha256 {actual[:16]}…, expected {sha256[:16]}…)")
        try:
            os.replace(tmp, dest)
        except OSError as exc:
            raise cannot_write(dest, exc) from None
    finally:
        tmp.unlink(missing_ok=True)
    return dest


def _stream(url: str, out, timeout: float, progress: bool, max_bytes: int | None = None,
            end: float | None = None) -> None:
    try:
        request = urllib.request.Request(url, headers={"User-Agent": "convzoo"})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            total = int(response.headers.get("Content-Length") or 0)
            if max_bytes is not None and total > max_bytes:
                raise DataError(f"{url}: the server offers {total:,} bytes; {max_bytes:,} are expected")
            bar = _progress_bar(total, url, progress)
            received = 0
            while chunk := response.read1(CHUNK):  # read1: returns what arrived, so the deadline is seen
                out.write(chunk)
                received += len(chunk)
                bar.update(len(chunk))
                if max_bytes is not None and received > max_bytes:
                    raise DataError(f"{url}: the server sent more than the {max_bytes:,} bytes expected")
                if end is not None and time.monotonic() > end:
                    raise DataError(f"{url}: too slow ({received:,} bytes before the deadline); try again later")
            bar.close()
    except ValueError as exc:  # urllib: "unknown url type", a malformed Content-Length
        raise DataError(f"{url}: not a URL that can be downloaded ({str(exc)[:80]})") from None
    except urllib.error.HTTPError as exc:
        raise DataError(f"{url}: HTTP {exc.code} {exc.reason}") from None
    except http.client.HTTPException as exc:  # e.g. IncompleteRead when the peer drops
        raise DataError(f"{url}: connection dropped midway ({type(exc).__name__})") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DataError(f"{url}: download failed ({reason})") from None
    if total and received != total:
        raise DataError(f"{url}: connection closed after {received:,} of {total:,} bytes")


def _progress_bar(total: int, url: str, enabled: bool):
    from ..progress import tqdm

    return tqdm(total=total or None, unit="B", unit_scale=True, desc=url.rsplit("/", 1)[-1],
                disable=not enabled, leave=False)
