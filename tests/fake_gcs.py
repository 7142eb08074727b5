"""A fake Google Cloud Storage for tests: one in-memory object store seen by two clients, as on a pod.

- orbax asks google-cloud-storage for the bucket's layout (hierarchical namespace or not) on every gs://
  folder: that client is pointed at the same server by STORAGE_EMULATOR_HOST, its own emulator hook.
- orbax's arrays go through tensorstore's real `gcs` driver, over HTTP, to a small server speaking the subset of
  the GCS JSON API it uses (media download with ranges and generation preconditions, media upload, delete,
  list). tensorstore is pointed at it by TENSORSTORE_GCS_HTTP_URL and GOOGLE_AUTH_TOKEN_FOR_TESTING, its own
  test hooks.
- Everything else that opens `gs://` through etils.epath (decompjax.fileio, orbax's metadata, step folders and
  commit files) goes through fsspec: `FakeGcsFileSystem` is registered as fsspec's `gs` filesystem (as gcsfs
  would be) and epath is told to use fsspec instead of tf.io.gfile (EPATH_USE_TF=false).

Object-store semantics, not a local disk's: a flat namespace of objects; a "folder" exists when an object has
its prefix or a zero-byte `prefix/` placeholder marks it (what tf.io.gfile's mkdir writes); no rename (a copy
and a delete); an object is visible only once its upload is complete.
What is not exercised: tf.io.gfile's own GCS client (production's default epath backend with TF installed),
real authentication, retries, eventual listing consistency.
"""
from __future__ import annotations

import contextlib
import importlib
import io
import json
import os
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import fsspec
from fsspec.spec import AbstractFileSystem


class ObjectStore:
  """{bucket/name: (data, generation)}, thread-safe; generations increase with every write as GCS's do."""

  def __init__(self):
    self.objects: dict[str, tuple[bytes, int]] = {}
    self.lock = threading.RLock()
    self._generation = 0
    self.requests: list[str] = []  # 'METHOD bucket/name' of every HTTP request (tensorstore's traffic)

  def put(self, key: str, data: bytes, if_generation_match: int | None = None) -> int | None:
    """-> the new generation, or None when the precondition fails (0 = must not exist)."""
    with self.lock:
      current = self.objects.get(key, (None, 0))[1]
      if if_generation_match is not None and if_generation_match != current:
        return None
      self._generation += 1
      self.objects[key] = (bytes(data), self._generation)
      return self._generation

  def get(self, key: str):
    with self.lock:
      return self.objects.get(key)

  def delete(self, key: str) -> bool:
    with self.lock:
      return self.objects.pop(key, None) is not None

  def keys(self, prefix: str = "") -> list[str]:
    with self.lock:
      return sorted(k for k in self.objects if k.startswith(prefix))


STORE = ObjectStore()


# ---------------------------------------------------------------------------------------------- HTTP: tensorstore
class _Handler(BaseHTTPRequestHandler):
  protocol_version = "HTTP/1.1"

  def log_message(self, *args):  # quiet
    pass

  def _send(self, code: int, body: bytes = b"", headers: dict | None = None, content_type="application/json"):
    self.send_response(code)
    for k, v in (headers or {}).items():
      self.send_header(k, str(v))
    self.send_header("Content-Type", content_type)
    self.send_header("Content-Length", str(len(body)))
    self.end_headers()
    if self.command != "HEAD":
      self.wfile.write(body)

  def _error(self, code: int, message: str):
    self._send(code, json.dumps({"error": {"code": code, "message": message}}).encode())

  def _parse(self):
    url = urllib.parse.urlsplit(self.path)
    query = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query, keep_blank_values=True).items()}
    parts = url.path.split("/")
    return parts, query

  @staticmethod
  def _meta(bucket: str, name: str, data: bytes, generation: int) -> dict:
    return {"kind": "storage#object", "bucket": bucket, "name": name, "size": str(len(data)),
            "generation": str(generation), "metageneration": "1"}

  def do_GET(self):  # noqa: N802 (http.server's naming)
    parts, query = self._parse()
    if parts[1:4] == ["storage", "v1", "b"] and len(parts) == 5:  # bucket metadata (orbax asks for the layout)
      STORE.requests.append(f"BUCKET {parts[4]}")
      return self._send(200, json.dumps({"kind": "storage#bucket", "name": parts[4], "id": parts[4],
                                         "location": "US", "storageClass": "STANDARD"}).encode())
    # /storage/v1/b/<bucket>/o[/<object>]
    if parts[1:4] != ["storage", "v1", "b"] or len(parts) < 6 or parts[5] != "o":
      return self._error(400, f"unsupported GET {self.path}")
    bucket = urllib.parse.unquote(parts[4])
    if len(parts) == 6 or parts[6] == "":
      return self._list(bucket, query)
    name = urllib.parse.unquote("/".join(parts[6:]))
    STORE.requests.append(f"GET {bucket}/{name}")
    found = STORE.get(f"{bucket}/{name}")
    if found is None:
      return self._error(404, "No such object")
    data, generation = found
    if "ifGenerationMatch" in query and int(query["ifGenerationMatch"]) != generation:
      return self._error(412, "precondition failed")
    if "ifGenerationNotMatch" in query and int(query["ifGenerationNotMatch"]) == generation:
      return self._send(304, headers={"x-goog-generation": generation})
    headers = {"x-goog-generation": generation, "x-goog-metageneration": 1}
    if query.get("alt") != "media":
      return self._send(200, json.dumps(self._meta(bucket, name, data, generation)).encode(), headers)
    rng = self.headers.get("Range")
    if rng and rng.startswith("bytes="):
      first, _, last = rng[len("bytes="):].partition("-")
      if first == "":  # suffix: the last N bytes
        start, end = max(0, len(data) - int(last)), len(data) - 1
      else:
        start, end = int(first), (int(last) if last else len(data) - 1)
      if start >= len(data) and len(data) > 0:
        return self._error(416, "range not satisfiable")
      end = min(end, len(data) - 1)
      headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
      return self._send(206, data[start:end + 1], headers, "application/octet-stream")
    return self._send(200, data, headers, "application/octet-stream")

  def _list(self, bucket: str, query: dict):
    prefix = query.get("prefix", "")
    STORE.requests.append(f"LIST {bucket}/{prefix}")
    items = []
    for key in STORE.keys(f"{bucket}/{prefix}"):
      name = key[len(bucket) + 1:]
      if "startOffset" in query and name < query["startOffset"]:
        continue
      if query.get("endOffset") and name >= query["endOffset"]:
        continue
      data, generation = STORE.get(key) or (b"", 0)
      items.append(self._meta(bucket, name, data, generation))
    self._send(200, json.dumps({"kind": "storage#objects", "items": items}).encode())

  def do_POST(self):  # noqa: N802
    parts, query = self._parse()
    # /upload/storage/v1/b/<bucket>/o?uploadType=media&name=<object>
    if parts[1:5] != ["upload", "storage", "v1", "b"] or query.get("uploadType") != "media":
      return self._error(400, f"unsupported POST {self.path}")
    bucket, name = urllib.parse.unquote(parts[5]), query["name"]
    data = self.rfile.read(int(self.headers.get("Content-Length", "0")))
    STORE.requests.append(f"PUT {bucket}/{name}")
    match = int(query["ifGenerationMatch"]) if "ifGenerationMatch" in query else None
    generation = STORE.put(f"{bucket}/{name}", data, match)
    if generation is None:
      return self._error(412, "precondition failed")
    self._send(200, json.dumps(self._meta(bucket, name, data, generation)).encode())

  def do_DELETE(self):  # noqa: N802
    parts, query = self._parse()
    if parts[1:4] != ["storage", "v1", "b"] or len(parts) < 7:
      return self._error(400, f"unsupported DELETE {self.path}")
    bucket, name = urllib.parse.unquote(parts[4]), urllib.parse.unquote("/".join(parts[6:]))
    STORE.requests.append(f"DELETE {bucket}/{name}")
    key = f"{bucket}/{name}"
    with STORE.lock:
      found = STORE.get(key)
      if found is None:
        return self._error(404, "No such object")
      if "ifGenerationMatch" in query and int(query["ifGenerationMatch"]) != found[1]:
        return self._error(412, "precondition failed")
      STORE.delete(key)
    self._send(204)


# ---------------------------------------------------------------------------------------------- fsspec: epath
class _Upload(io.BytesIO):
  """A file being written: the object appears whole when it is closed (as a GCS upload does)."""

  def __init__(self, key: str):
    super().__init__()
    self._key = key

  def close(self):
    if not self.closed:
      STORE.put(self._key, self.getvalue())
    super().close()


class FakeGcsFileSystem(AbstractFileSystem):
  protocol = ("gs", "gcs")
  root_marker = ""

  def __init__(self, *args, finalize_on_close=None, **kwargs):  # epath passes gcsfs's finalize_on_close
    super().__init__(*args, **kwargs)

  @classmethod
  def _strip_protocol(cls, path):
    path = os.fspath(path) if not isinstance(path, str) else path
    for prefix in ("gs://", "gcs://"):
      path = path.removeprefix(prefix)
    return path.rstrip("/")

  def _is_dir(self, path: str) -> bool:
    return "/" not in path or bool(STORE.keys(path + "/"))

  def info(self, path, **kwargs):
    path = self._strip_protocol(path)
    found = STORE.get(path)
    if found is not None:
      return {"name": path, "size": len(found[0]), "type": "file"}
    if self._is_dir(path):
      return {"name": path, "size": 0, "type": "directory"}
    raise FileNotFoundError(path)

  def ls(self, path, detail=True, **kwargs):
    path = self._strip_protocol(path)
    info = self.info(path)
    if info["type"] == "file":
      return [info] if detail else [path]
    children = {}
    for key in STORE.keys(path + "/"):
      rest = key[len(path) + 1:]
      if not rest:
        continue  # the folder's own placeholder
      head, sep, _ = rest.partition("/")
      child = f"{path}/{head}"
      children[child] = {"name": child, "size": 0, "type": "directory"} if sep else self.info(child)
    out = [children[k] for k in sorted(children)]
    return out if detail else [o["name"] for o in out]

  def mkdir(self, path, create_parents=True, **kwargs):
    path = self._strip_protocol(path)
    if "/" in path and not self._is_dir(path):
      STORE.put(path + "/", b"")

  def makedirs(self, path, exist_ok=False):
    self.mkdir(path)

  def rmdir(self, path):
    path = self._strip_protocol(path)
    STORE.delete(path + "/")

  def rm_file(self, path):
    path = self._strip_protocol(path)
    if not STORE.delete(path) and not STORE.delete(path + "/") and not self._is_dir(path):
      raise FileNotFoundError(path)

  def _rm(self, path):
    self.rm_file(path)

  def rm(self, path, recursive=False, maxdepth=None):
    """As gcsfs: the matching objects go in one sweep; a "folder" emptied on the way is no error."""
    paths = self.expand_path(path, recursive=recursive, maxdepth=maxdepth)  # FileNotFoundError if none
    for p in reversed(paths):
      p = self._strip_protocol(p)
      STORE.delete(p)
      STORE.delete(p + "/")

  def cp_file(self, path1, path2, **kwargs):
    path1, path2 = self._strip_protocol(path1), self._strip_protocol(path2)
    found = STORE.get(path1)
    if found is None:
      if self._is_dir(path1):
        return self.mkdir(path2)
      raise FileNotFoundError(path1)
    STORE.put(path2, found[0])

  def _open(self, path, mode="rb", **kwargs):
    path = self._strip_protocol(path)
    if "r" in mode:
      found = STORE.get(path)
      if found is None:
        raise FileNotFoundError(path)
      return io.BytesIO(found[0])
    if "w" in mode:
      return _Upload(path)
    raise NotImplementedError(f"mode {mode!r}: an object store has no append")

  def created(self, path):
    raise NotImplementedError

  def modified(self, path):
    raise NotImplementedError


# ---------------------------------------------------------------------------------------------- wiring
_SERVER: ThreadingHTTPServer | None = None


def _server_url() -> str:
  """One server per test process: tensorstore may keep the URL it first read."""
  global _SERVER
  if _SERVER is None:
    _SERVER = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    _SERVER.daemon_threads = True
    threading.Thread(target=_SERVER.serve_forever, daemon=True).start()
  return f"http://127.0.0.1:{_SERVER.server_address[1]}"


@contextlib.contextmanager
def serve(monkeypatch):
  """Points tensorstore at the HTTP server and epath/fsspec at the fake; yields the (emptied) store."""
  from etils.epath import backend as epath_backend
  from etils.epath import gpath

  def forget_backends():  # epath caches both choices: whether TF is used, and the filesystem object
    gpath._is_tf_installed.cache_clear()
    epath_backend.fsspec_backend._get_filesystem.cache_clear()

  monkeypatch.setenv("TENSORSTORE_GCS_HTTP_URL", _server_url())
  monkeypatch.setenv("GOOGLE_AUTH_TOKEN_FOR_TESTING", "fake-token")
  monkeypatch.setenv("STORAGE_EMULATOR_HOST", _server_url())
  monkeypatch.setenv("EPATH_USE_TF", "false")
  registry = importlib.import_module("fsspec.registry")._registry  # restored after: no other test sees the fake
  saved = {k: registry.get(k) for k in ("gs", "gcs")}
  fsspec.register_implementation("gs", FakeGcsFileSystem, clobber=True)
  fsspec.register_implementation("gcs", FakeGcsFileSystem, clobber=True)
  forget_backends()
  with STORE.lock:
    STORE.objects.clear()
    STORE.requests.clear()
  try:
    yield STORE
  finally:
    for k, v in saved.items():
      if v is None:
        registry.pop(k, None)
      else:
        registry[k] = v
    monkeypatch.delenv("EPATH_USE_TF")
    forget_backends()
