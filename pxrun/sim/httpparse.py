"""Request parameters and response bodies exactly as pve-http-server produces and reads them.

Kept apart from the socket code so the quirks are testable without a server:
- form bodies (`application/x-www-form-urlencoded`, the default) and query strings split on `&`
  *and* `;`, `+` is a space, `%XX` is decoded; a key given twice becomes a list (validation then
  answers `got ARRAY`, as Proxmox does);
- `application/json` bodies keep their native JSON types;
- for POST/PUT the query string is merged in and overrides body parameters;
- responses are canonical JSON (sorted keys, compact), `{"data": ...}` on success and
  `{"data": null, "message": "<text>\\n"}` (+ `errors`) on failure.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote_plus

from pxrun.sim.api import ApiError

JSON_CONTENT_TYPE = "application/json;charset=UTF-8"


def decode_urlencoded(text: str) -> dict[str, Any]:
    """pve-http-server's `decode_urlencoded`; repeated keys collect into a list of strings."""
    result: dict[str, Any] = {}
    if not text:
        return result
    for pair in text.replace(";", "&").split("&"):
        if not pair:
            continue
        key, _, value = pair.partition("=")
        key = unquote_plus(key, errors="surrogateescape")
        value = unquote_plus(value, errors="surrogateescape")
        if key in result:
            old = result[key]
            result[key] = [*old, value] if isinstance(old, list) else [old, value]
        else:
            result[key] = value
    return result


def parse_multipart(content_type: str, body: bytes) -> tuple[dict[str, Any], dict[str, Any]]:
    """A `multipart/form-data` upload: (plain fields, {name: (filename, bytes)})."""
    from email import policy
    from email.parser import BytesParser

    message = BytesParser(policy=policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode("latin-1") + body)
    fields: dict[str, Any] = {}
    files: dict[str, Any] = {}
    if not message.is_multipart():
        raise ApiError(400, "malformed multipart body")
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        if filename is not None:
            files[name] = (filename, data)
        else:
            fields[name] = data.decode("utf-8", errors="surrogateescape")
    return fields, files


def parse_params(method: str, query: str, content_type: str | None, body: bytes,
                 files: dict[str, Any] | None = None) -> dict[str, Any]:
    """Merge body (POST/PUT only) and query parameters; the query wins, as in Proxmox.
    Uploaded files of a multipart body go into `files` (their names into the params)."""
    params: dict[str, Any] = {}
    if method in ("POST", "PUT") and body:
        media = (content_type or "").split(";", 1)[0].strip().lower()
        if media == "multipart/form-data":
            params, uploaded = parse_multipart(content_type or "", body)
            for name, (filename, data) in uploaded.items():
                params[name] = filename
                if files is not None:
                    files[name] = data
        elif media == "application/json":
            try:
                decoded = json.loads(body)
            except ValueError as exc:
                raise ApiError(400, f"malformed JSON body - {exc}") from None
            if not isinstance(decoded, dict):
                raise ApiError(400, "malformed JSON body - expected an object")
            params = decoded
        else:
            params = decode_urlencoded(body.decode("utf-8", errors="surrogateescape"))
    params.update(decode_urlencoded(query))
    params.pop("_dc", None)  # the GUI's cache buster, dropped by pveproxy
    return params


def conflicting_path_params(params: dict[str, Any], path_params: dict[str, str]) -> ApiError | None:
    """A body/query parameter that repeats a URL parameter with another value is a 400."""
    errors = {
        key: "duplicate parameter (already defined in URI) with conflicting values!"
        for key, value in path_params.items()
        if key in params and _perl_str(params[key]) != value
    }
    if errors:
        return ApiError(400, "Parameter verification failed.", errors)
    return None


def _perl_str(value: Any) -> str:
    """How Perl would stringify a decoded parameter for the `ne` comparison."""
    if isinstance(value, bool):
        return "1" if value else ""
    if isinstance(value, list):
        return "\0".join(str(v) for v in value)
    return str(value)


def success_body(data: Any, total: int | None = None) -> bytes:
    envelope: dict[str, Any] = {"data": data}
    if total is not None:
        envelope["total"] = total
    return _dump(envelope)


def error_body(error: ApiError) -> bytes:
    message = error.message
    if error.status != 501 and not message.endswith("\n"):
        message += "\n"
    envelope: dict[str, Any] = {"data": None, "message": message}
    if error.errors:
        envelope["errors"] = error.errors
    return _dump(envelope)


def _dump(envelope: dict[str, Any]) -> bytes:
    try:
        text = json.dumps(envelope, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    except TypeError:  # mixed key types somewhere deep: keep the handler's order
        text = json.dumps(envelope, separators=(",", ":"), ensure_ascii=False, default=str)
    return text.encode("utf-8", errors="surrogateescape")


def reason_phrase(message: str) -> str:
    """The status line's reason: the message's first line, stripped of control characters."""
    first = message.split("\n", 1)[0].strip()
    return "".join(ch if ch >= " " and ch != "\x7f" else " " for ch in first)
