"""llama-cpp-python's OpenAI-compatible server, started with the AMX-safe model params.

Test helper: `python tests/helpers/openai_server.py --model X.gguf --host 127.0.0.1 --port N`.
The plain `python -m llama_cpp.server` would load the model with the extra buffer types
on and crash on CPUs with AMX (see reviewer/engines/model/backends/llama_worker.py).
"""

from reviewer.engines.model.backends.llama_worker import no_extra_buffer_types

if __name__ == "__main__":
    from llama_cpp.server.__main__ import main

    with no_extra_buffer_types():
        main()
