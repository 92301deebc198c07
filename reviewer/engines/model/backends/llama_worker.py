"""The llama.cpp worker process: loads one GGUF once, then answers generate requests.

Run by backends/llama.py as `python -m reviewer.engines.model.backends.llama_worker`.
It speaks JSON lines: requests on stdin, events and replies on a private copy of
stdout; fd 1 itself is pointed at stderr so anything the native library prints cannot
corrupt the protocol. A native crash (SIGSEGV...) kills only this process.

Prefix cache: the static part of each prompt kind (system message + fixed instructions)
is evaluated once and its state saved. Each request starts from that state, and after
it the state is restored, so the warm context holds no draft-derived tokens between
requests. Nothing is written to disk.

Cancel: stdin is read on its own thread, so `{"op": "cancel", "id": N}` arrives while
generation N runs; the stopping criteria (checked at every token) then end it and the
reply says finish "cancelled". The model and its prefix cache stay loaded.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import resource
import sys
import threading
import time

SENTINEL = "\u0000STATIC-END\u0000"
CHATML = ("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + "
          "message['content'] + '<|im_end|>' + '\n'}}{% endfor %}"
          "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")


@contextlib.contextmanager
def no_extra_buffer_types():
    """Load models with the extra buffer types off: on CPUs with AMX, ggml's AMX repacking
    buffer crashes (SIGSEGV in ggml_backend_amx_mul_mat). Llama() builds its model params
    from llama_model_default_params() and has no argument for this field, so the default
    is wrapped while the block runs (in this process only)."""
    from llama_cpp import llama_cpp as native

    defaults = native.llama_model_default_params

    def params():
        p = defaults()
        p.use_extra_bufts = False
        return p

    native.llama_model_default_params = params
    try:
        yield
    finally:
        native.llama_model_default_params = defaults


def load_llama(path: str, n_ctx: int, threads: int):
    import llama_cpp

    with no_extra_buffer_types():
        return llama_cpp.Llama(model_path=path, n_ctx=n_ctx, n_batch=512, n_threads=threads,
                               n_threads_batch=threads, seed=0, verbose=False)


class Worker:
    def __init__(self, send):
        self.send = send
        self.llm = None
        self.formatter = None
        self.prefixes: dict[str, tuple[list[int], object]] = {}
        self.grammars: dict[str, object] = {}
        self.info: dict = {}
        self._used: str | None = None  # prefix key of the request whose tokens are in the context
        self._abort = threading.Event()  # the running generation's cancel
        self._abort_cb = None  # ctypes callback: must stay referenced while the model lives

    def load(self, req: dict) -> dict:
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        started = time.perf_counter()
        self.llm = load_llama(req["path"], int(req["n_ctx"]), int(req["threads"]))
        llm = self.llm
        self._abort_on_cancel()
        template = llm.metadata.get("tokenizer.chat_template")
        eos_id, bos_id = llm.token_eos(), llm.token_bos()
        eos = llm._model.token_get_text(eos_id) if eos_id != -1 else ""
        bos = llm._model.token_get_text(bos_id) if bos_id != -1 else ""
        self.formatter = Jinja2ChatFormatter(template or CHATML, eos_token=eos, bos_token=bos,
                                             stop_token_ids=[eos_id])
        self.info = {
            "load_s": round(time.perf_counter() - started, 3),
            "n_ctx": llm.n_ctx(),
            "n_ctx_train": llm._model.n_ctx_train(),
            "threads": int(req["threads"]),
            "chat_template": "gguf metadata" if template else "ChatML (none in GGUF metadata)",
            "architecture": llm.metadata.get("general.architecture"),
            "model_name": llm.metadata.get("general.name"),
            "n_params": llm._model.n_params(),
            "use_extra_bufts": False,
            "peak_rss_mb": peak_rss_mb(),
        }
        return self.info

    def _abort_on_cancel(self) -> None:
        """Let a cancel interrupt llama_decode itself: the stopping criteria only run between
        tokens, and evaluating a long prompt on a big model can take many seconds. ggml
        asks the callback between graph nodes (negligible cost, measured); decode then
        returns 2 and the context is restored by forget()."""
        from llama_cpp import llama_cpp as native

        try:
            self._abort_cb = native.ggml_abort_callback(lambda _data: self._abort.is_set())
            native.llama_set_abort_callback(self.llm._ctx.ctx, self._abort_cb, None)
        except (AttributeError, TypeError):  # an older llama-cpp-python: cancel waits for a token
            self._abort_cb = None

    def _tokens(self, messages: list[dict], static_chars: int) -> tuple[list[int], list[int], list]:
        """Full prompt tokens and the static-prefix tokens, through the GGUF's chat template."""
        marked = [dict(m) for m in messages]
        last = marked[-1]["content"]
        marked[-1]["content"] = last[:static_chars] + SENTINEL + last[static_chars:]
        rendered = self.formatter(messages=marked)
        cut = rendered.prompt.index(SENTINEL)
        full = rendered.prompt.replace(SENTINEL, "")
        tokenize = self.llm.tokenize
        tokens = tokenize(full.encode("utf-8"), add_bos=not rendered.added_special, special=True)
        static = tokenize(full[:cut].encode("utf-8"), add_bos=not rendered.added_special, special=True)
        # A BPE merge across the cut can change the last static token: keep the common part.
        common = 0
        for a, b in zip(static, tokens):
            if a != b:
                break
            common += 1
        return tokens, static[:common], rendered.stop or []

    def _start_from_prefix(self, key: str | None, static: list[int]) -> int:
        """Put the static prefix's state in the context; return how many tokens it covers."""
        llm = self.llm
        if key is None or not static:
            llm.reset()
            return 0
        cached = self.prefixes.get(key)
        if cached is None or cached[0] != static:
            llm.reset()
            llm.eval(static)
            self.prefixes[key] = (list(static), llm.save_state())
        elif llm.n_tokens != len(static) or list(llm.input_ids[: len(static)]) != static:
            llm.load_state(cached[1])  # (normally already there: restored after each request)
        return len(static)

    def _grammar(self, schema: dict | None):
        if schema is None:
            return None
        from llama_cpp import LlamaGrammar

        key = json.dumps(schema, sort_keys=True)
        if key not in self.grammars:
            self.grammars[key] = LlamaGrammar.from_json_schema(key, verbose=False)
        return self.grammars[key]

    def forget(self) -> None:
        """Put the context back to the cached static prefix (or empty), so no draft-derived
        tokens stay between requests. main() runs it after sending the reply: restoring
        the state can take a while (seconds the first time) and a cancel should not wait."""
        key, self._used = self._used, None
        if self.llm is None:
            return
        if key is not None and key in self.prefixes:
            self.llm.load_state(self.prefixes[key][1])
        else:
            self.llm.reset()

    def generate(self, req: dict, cancel: threading.Event | None = None) -> dict:
        llm = self.llm
        started = time.perf_counter()
        deadline = time.monotonic() + float(req["timeout"])
        tokens, static, stop = self._tokens(req["messages"], int(req.get("static_chars", 0)))
        max_tokens = int(req["max_tokens"])
        if len(tokens) + 8 > llm.n_ctx():
            return {"ok": False, "error": "too_long",
                    "detail": f"prompt is {len(tokens)} tokens; context is {llm.n_ctx()}"}
        max_tokens = min(max_tokens, llm.n_ctx() - len(tokens))
        key = req.get("cache_key") if req.get("prefix_cache", True) else None
        cancel = cancel or threading.Event()
        self._abort = cancel  # the abort callback reads it inside llama_decode (prompt eval)
        self._used = key  # forget() puts this prefix back once the reply is out
        try:
            return self._generate(req, tokens, static, stop, max_tokens, key, cancel, deadline, started)
        except RuntimeError:  # llama_decode returned 2: aborted by the cancel
            if not cancel.is_set():
                raise
            return {"ok": True, "result": {
                "text": "", "finish": "cancelled", "prompt_tokens": len(tokens), "cached_tokens": 0,
                "completion_tokens": 0, "seconds": round(time.perf_counter() - started, 4),
                "first_token_s": None, "peak_rss_mb": peak_rss_mb()}}
        finally:
            self._abort = threading.Event()  # never set: later evals run to the end

    def _generate(self, req, tokens, static, stop, max_tokens, key, cancel, deadline, started) -> dict:
        import llama_cpp

        llm = self.llm
        cached = self._start_from_prefix(key, static)
        timed_out = False

        def out_of_time(ids, logits) -> bool:
            nonlocal timed_out
            timed_out = timed_out or time.monotonic() > deadline
            return timed_out or cancel.is_set()

        text: list[str] = []
        first = None
        n = 0
        finish = "stop"
        # (the draft's tokens leave the context in forget(), called after the reply)
        stream = llm.create_completion(
            prompt=tokens, max_tokens=max_tokens, temperature=0.0, stop=stop, stream=True,
            grammar=self._grammar(req.get("schema")), repeat_penalty=1.0,
            stopping_criteria=llama_cpp.StoppingCriteriaList([out_of_time]),
        )
        for chunk in stream:
            choice = chunk["choices"][0]
            piece = choice.get("text") or ""
            if piece:
                if first is None:
                    first = time.perf_counter() - started
                text.append(piece)
                self.send({"event": "delta", "text": piece})
            n += 1
            if choice.get("finish_reason"):
                finish = choice["finish_reason"]
            if cancel.is_set():
                break
        stream.close()  # a cancel leaves it mid-way: end it before forget() touches the context
        seconds = time.perf_counter() - started
        return {"ok": True, "result": {
            "text": "".join(text),
            "finish": "cancelled" if cancel.is_set() else "timeout" if timed_out else finish,
            "prompt_tokens": len(tokens), "cached_tokens": cached,
            "completion_tokens": n,  # stream chunks: one per sampled token
            "seconds": round(seconds, 4),
            "first_token_s": None if first is None else round(first, 4),
            "peak_rss_mb": peak_rss_mb(),
        }}


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


class Inbox:
    """Reads requests on a thread of its own: a cancel must get through while the main
    thread is busy generating. Generation ids come from the backend, one per request."""

    def __init__(self, stream):
        self.requests: queue.Queue = queue.Queue()
        self.stop = threading.Event()  # set: the running generation should end now
        self._lock = threading.Lock()
        self._current = None
        self._early: set = set()  # ids cancelled before their generation started
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream) -> None:
        for line in stream:
            try:
                req = json.loads(line)
            except json.JSONDecodeError:
                req = {"op": None, "bad": True}
            if isinstance(req, dict) and req.get("op") == "cancel":
                self.cancel(req.get("id"))
            else:
                self.requests.put(req)
        self.requests.put(None)  # EOF: the backend went away

    def cancel(self, gid) -> None:
        with self._lock:
            if gid is not None and gid == self._current:
                self.stop.set()
            elif gid is not None:
                self._early.add(gid)  # queued behind us, or already finished (never seen again)

    def begin(self, gid) -> bool:
        """Mark generation `gid` as running; False if it was cancelled before it started."""
        with self._lock:
            self.stop.clear()
            self._current = gid
            early = gid is not None and gid in self._early
            if isinstance(gid, int):  # ids only grow: older early cancels are stale
                self._early = {g for g in self._early if isinstance(g, int) and g > gid}
            return not early

    def end(self) -> None:
        with self._lock:
            self._current = None
            self.stop.clear()


def main() -> None:
    proto = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    def send(obj: dict) -> None:
        proto.write(json.dumps(obj) + "\n")
        proto.flush()

    worker = Worker(send)
    inbox = Inbox(sys.stdin)
    while (req := inbox.requests.get()) is not None:
        if not isinstance(req, dict) or req.get("bad"):
            send({"ok": False, "error": "protocol", "detail": "request is not JSON"})
            continue
        op = req.get("op")
        try:
            if op == "load":
                send({"ok": True, "info": worker.load(req)})
            elif op == "generate":
                if worker.llm is None:
                    send({"ok": False, "error": "not_loaded", "detail": "load first"})
                elif not inbox.begin(req.get("id")):
                    send({"ok": False, "error": "cancelled", "detail": "cancelled before it started"})
                else:
                    try:
                        send(worker.generate(req, inbox.stop))
                    finally:
                        inbox.end()
                        worker.forget()  # before the next request: no draft tokens stay
            elif op == "quit":
                break
            else:
                send({"ok": False, "error": "protocol", "detail": f"unknown op {op!r}"})
        except MemoryError:
            send({"ok": False, "error": "oom", "detail": "out of memory"})
        except Exception as exc:  # noqa: BLE001 - report the class only: messages may echo input
            error = "load_failed" if op == "load" else "failed"
            detail = str(exc) if op == "load" else exc.__class__.__name__
            send({"ok": False, "error": error, "detail": detail[:300]})


if __name__ == "__main__":
    main()
