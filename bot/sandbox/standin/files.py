"""Files, the way files_upload_v2 sends them: files.getUploadURLExternal hands out an upload URL and a
file id, the bytes are POSTed to that URL, files.completeUploadExternal finishes the upload and shares
it (to a channel or DM, with an initial comment) or keeps it private to the app (e.g. for an image block).

The bytes are kept, so a test can read the CSV or the PNG back (`uploaded_files`, `file_bytes`).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from .directory import Directory
from .wire import ApiError, missing

MAX_FILE_BYTES = 1024 * 1024 * 1024  # Slack's 1 GB


@dataclass
class UploadedFile:
    id: str
    filename: str
    length: int
    alt_txt: str | None = None
    snippet_type: str | None = None
    content: bytes | None = None  # None until the bytes are POSTed to the upload URL
    title: str | None = None
    completed: bool = False
    channels: list[str] = field(default_factory=list)
    initial_comment: str | None = None
    thread_ts: str | None = None
    created: float = field(default_factory=time.time)

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id, "name": self.filename, "title": self.title or self.filename,
            "mimetype": _mimetype(self.filename), "filetype": self.filename.rsplit(".", 1)[-1].lower(),
            "size": len(self.content or b""), "created": int(self.created), "channels": list(self.channels),
            "is_public": False, "user": "U_HANDOFF_BOT",
        }


def _mimetype(name: str) -> str:
    ext = name.rsplit(".", 1)[-1].lower()
    return {"csv": "text/csv", "png": "image/png", "txt": "text/plain"}.get(ext, "application/octet-stream")


class Files(Directory):
    """Uploads in flight and done, keyed by file id."""

    def __init__(self, token: str, host: str, port: int) -> None:
        super().__init__(token, host, port)
        self.uploaded_files: dict[str, UploadedFile] = {}

    def file_bytes(self, file_id: str) -> bytes:
        with self._lock:
            content = self.uploaded_files[file_id].content
        if content is None:
            raise KeyError(f"file {file_id} was never uploaded")
        return content

    def shared_files(self, channel: str | None = None) -> list[UploadedFile]:
        """Completed uploads, optionally those shared to one conversation, oldest first."""
        with self._lock:
            done = [f for f in self.uploaded_files.values() if f.completed]
        return [f for f in done if channel is None or channel in f.channels]

    async def _handle_upload(self, request: web.Request) -> web.StreamResponse:
        """Step 2: the bytes, POSTed to the URL step 1 handed out (Slack answers "OK - <length>")."""
        file_id = request.match_info["file_id"]
        body = await request.read()
        with self._lock:
            pending = self.uploaded_files.get(file_id)
            if pending is None or pending.completed:
                self._record("files.upload_url", {"file_id": file_id}, 404, {"ok": False, "error": "not_found"})
                return web.Response(status=404, text="not_found")
            pending.content = body
            self._record("files.upload_url", {"file_id": file_id, "bytes": len(body)}, 200, {"ok": True})
        return web.Response(text=f"OK - {len(body)}")


def files_get_upload_url_external(s: Files, args: dict[str, Any]) -> dict[str, Any]:
    filename = args.get("filename")
    if not filename:
        raise missing("filename")
    try:
        length = int(args.get("length"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise missing("length") from None
    if length <= 0 or length > MAX_FILE_BYTES:
        raise ApiError("invalid_arguments", "[ERROR] length must be between 1 and 1073741824")
    file_id = s._new_id("F")
    s.uploaded_files[file_id] = UploadedFile(file_id, str(filename), length, args.get("alt_txt"),
                                             args.get("snippet_type"))
    return {"upload_url": f"{s.url}/upload/{file_id}", "file_id": file_id}


def files_complete_upload_external(s: Files, args: dict[str, Any]) -> dict[str, Any]:
    raw = args.get("files")
    if not raw:
        raise missing("files")
    try:
        files = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        raise ApiError("invalid_arguments", "[ERROR] files must be a JSON array") from None
    if not isinstance(files, list) or not files or not all(isinstance(f, dict) and f.get("id") for f in files):
        raise ApiError("invalid_arguments", "[ERROR] files must be a JSON array of {id, title}")
    targets: list[str] = []
    if args.get("channel_id"):
        targets.append(s._resolve_channel(args["channel_id"])[0])
    for channel in str(args.get("channels") or "").split(","):
        if channel.strip():
            targets.append(s._resolve_channel(channel.strip())[0])
    found = []
    for f in files:
        upload = s.uploaded_files.get(str(f["id"]))
        if upload is None or upload.completed:
            raise ApiError("file_not_found")
        if upload.content is None:
            raise ApiError("file_upload_not_found")  # step 2 never happened
        if len(upload.content) != upload.length:
            raise ApiError("file_size_mismatch")
        found.append((upload, f.get("title")))
    shared = []
    for upload, title in found:
        upload.completed = True
        upload.title = title or upload.filename
        upload.channels = targets
        upload.initial_comment = args.get("initial_comment")
        upload.thread_ts = args.get("thread_ts")
        shared.append(upload.public())
        for channel in targets:
            s._emit("file", channel, channel=channel, text=f"{upload.initial_comment or ''} [{upload.filename}]".strip(),
                    thread_ts=upload.thread_ts)
    return {"files": shared}
