"""The model client honours HTTP(S)_PROXY and SSL_CERT_FILE like the HF and arXiv one,
and never sends requests for this machine through a proxy."""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx2
import pytest

from papergist.http import HttpClient
from papergist.settings import load_settings
from papergist.summarize.llm import LLMSummarizer, ModelConfig

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "SSL_CERT_FILE",
                   "SSL_CERT_DIR")


class _Recorder(BaseHTTPRequestHandler):
    """Answers every GET with its own name and records the request line: as a proxy it
    sees absolute URIs (`GET http://host/path`), as a server plain paths."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self.server.seen.append(self.requestline)
        body = self.server.name.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


class Server:
    """A recording HTTP server on 127.0.0.1 in a thread (optionally TLS)."""

    def __init__(self, name: str, tls: ssl.SSLContext | None = None):
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
        self.httpd.seen, self.httpd.name = [], name
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.httpd.server_port}"
        self.seen = self.httpd.seen

    def __enter__(self) -> "Server":
        threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def clean_env(monkeypatch):
    """No proxy or CA variable of the machine running the tests leaks in."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    return monkeypatch


def _model_get(tmp_path: Path, base_url: str, path: str) -> httpx2.Response:
    """GET `path` with the model client exactly as `LLMSummarizer` builds it."""
    config = ModelConfig(model="m", base_url=base_url, api_key=None, provider="openai",
                         timeout=5.0)
    settings = load_settings(env={"PAPERGIST_HOME": str(tmp_path)})

    async def get() -> httpx2.Response:
        async with LLMSummarizer(config, settings) as summarizer:
            return await summarizer._client.get(f"{base_url}{path}")

    return asyncio.run(get())


@pytest.mark.parametrize("variable", ["HTTP_PROXY", "ALL_PROXY", "http_proxy"])
def test_the_model_client_goes_through_the_proxy(tmp_path, clean_env, variable):
    with Server("proxy") as proxy:
        clean_env.setenv(variable, proxy.url)
        reply = _model_get(tmp_path, "http://model.example.test/v1", "/models")
    assert (reply.status_code, reply.text) == (200, "proxy")
    assert proxy.seen == ["GET http://model.example.test/v1/models HTTP/1.1"]


def test_no_proxy_is_honoured(tmp_path, clean_env):
    with Server("proxy") as proxy:
        clean_env.setenv("HTTP_PROXY", proxy.url)
        clean_env.setenv("NO_PROXY", "model.example.test")
        with pytest.raises(httpx2.ConnectError):
            _model_get(tmp_path, "http://model.example.test/v1", "/models")
    assert proxy.seen == []


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_a_local_model_is_never_proxied(tmp_path, clean_env, host):
    with Server("proxy") as proxy, Server("model") as model:
        clean_env.setenv("HTTP_PROXY", proxy.url)
        clean_env.setenv("ALL_PROXY", proxy.url)
        base = model.url.replace("127.0.0.1", host)
        reply = _model_get(tmp_path, f"{base}/v1", "/models")
    assert (reply.text, proxy.seen, model.seen) == ("model", [], ["GET /v1/models HTTP/1.1"])


def test_hf_and_arxiv_use_the_proxy_but_not_for_local_hosts(tmp_path, clean_env):
    with Server("proxy") as proxy, Server("hf") as hf:
        clean_env.setenv("HTTP_PROXY", proxy.url)
        with HttpClient(load_settings(env={"PAPERGIST_HOME": str(tmp_path)})) as client:
            far = client.get("http://hf.example.test/api", what="HF")
            near = client.get(f"{hf.url}/api", what="HF")
    assert (far.text, near.text) == ("proxy", "hf")
    assert (proxy.seen, hf.seen) == (["GET http://hf.example.test/api HTTP/1.1"],
                                     ["GET /api HTTP/1.1"])


# --- SSL_CERT_FILE: a real TLS server with a self-signed certificate -------------------


@pytest.fixture
def self_signed(tmp_path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 made now (valid two days) and its key."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


def _tls_server(cert: Path, key: Path) -> Server:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return Server("tls model", tls=context)


def test_ssl_cert_file_is_trusted_by_the_model_client(tmp_path, clean_env, self_signed):
    cert, key = self_signed
    with _tls_server(cert, key) as server:
        with pytest.raises(httpx2.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            _model_get(tmp_path, f"{server.url}/v1", "/models")
        clean_env.setenv("SSL_CERT_FILE", str(cert))
        reply = _model_get(tmp_path, f"{server.url}/v1", "/models")
    assert (reply.text, server.seen) == ("tls model", ["GET /v1/models HTTP/1.1"])
