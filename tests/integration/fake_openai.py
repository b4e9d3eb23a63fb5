"""A loopback fake of an OpenAI-compatible chat-completions server.

Used by the integration tests to drive keeper's llm steps over real HTTP:
it listens on 127.0.0.1 with a free port, answers a scripted sequence of
responses (the last one repeats forever), and records every request.

    with FakeOpenAI() as fake:
        fake.script(Response(429, headers={"Retry-After": "1"}),
                    Response(200, body=chat_reply("hi", usage=(3, 1, 4))))
        env["KEEPER_LLM_URL"] = fake.url        # http://127.0.0.1:PORT/v1
        ... run keeper ...
        req = fake.requests[0]                  # .path .headers .json .at

A Response may wait `delay` seconds before answering, or send its headers
and half its body and then stall for `stall` seconds (a slow body). Both
waits end at once when the server stops, so a test never hangs on them.
Its body may be computed from the request it answers:

        fake.script(Response(200, body=lambda req: chat_reply(
            req.json["messages"][-1]["content"].upper())))

This is the suite's one fake LLM endpoint (conftest's fake_llm fixture):
a test that needs another behaviour extends it here.
"""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def chat_reply(content, usage=(10, 5, 15), model="fake-model"):
    """The JSON body of a successful chat completion."""
    body = {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "model": model,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": content},
            "finish_reason": "stop",
        }],
    }
    if usage is not None:
        body["usage"] = {
            "prompt_tokens": usage[0],
            "completion_tokens": usage[1],
            "total_tokens": usage[2],
        }
    return body


def error_body(message, type_="server_error"):
    return {"error": {"message": message, "type": type_}}


def encode(body):
    """A body as bytes: a dict or list as JSON, a str as UTF-8."""
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
    if isinstance(body, str):
        body = body.encode()
    return body


class Response:
    def __init__(self, status=200, body=None, headers=None, delay=0.0,
                 stall=0.0):
        self.status = status
        if body is None:
            body = chat_reply("ok")
        # A callable is asked for the body of each request it answers.
        self.body = body if callable(body) else encode(body)
        self.headers = dict(headers or {})
        self.delay = delay
        self.stall = stall

    def body_for(self, request):
        return encode(self.body(request)) if callable(self.body) \
            else self.body


class Request:
    def __init__(self, method, path, headers, body, at):
        self.method = method
        self.path = path
        self.headers = headers          # email.message.Message: any case
        self.body = body
        self.at = at                    # time.monotonic() on arrival
        try:
            self.json = json.loads(body)
        except ValueError:
            self.json = None


class FakeOpenAI:
    def __init__(self):
        self._lock = threading.Lock()
        self._script = [Response()]
        self._next = 0
        self._stopping = threading.Event()
        self.requests = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                fake._handle(self)

            do_GET = do_POST

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self.url = "http://127.0.0.1:%d/v1" % self.port
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def script(self, *responses):
        with self._lock:
            self._script = list(responses)
            self._next = 0

    def wait_requests(self, n, timeout=10.0):
        """Poll until at least n requests arrived; the list of them."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.requests) >= n:
                    return list(self.requests)
            time.sleep(0.01)
        raise AssertionError("fake server got %d requests, wanted %d"
                             % (len(self.requests), n))

    def _handle(self, h):
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        req = Request(h.command, h.path, h.headers, body, time.monotonic())
        with self._lock:
            self.requests.append(req)
            r = self._script[min(self._next, len(self._script) - 1)]
            self._next += 1
        reply = r.body_for(req)
        if r.delay and self._stopping.wait(r.delay):
            return
        try:
            h.send_response(r.status)
            headers = {"Content-Type": "application/json"}
            headers.update(r.headers)
            for k, v in headers.items():
                h.send_header(k, v)
            h.send_header("Content-Length", str(len(reply)))
            h.send_header("Connection", "close")
            h.end_headers()
            if r.stall:
                half = len(reply) // 2
                h.wfile.write(reply[:half])
                h.wfile.flush()
                if self._stopping.wait(r.stall):
                    return
                h.wfile.write(reply[half:])
            else:
                h.wfile.write(reply)
            h.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass        # the client gave up (its timeout): expected
        h.close_connection = True
