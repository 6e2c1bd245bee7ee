"""Spec §9.10: noisy_gold with ε = 0 equals gold; the openai_compat backend against a stub server on loopback."""

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

from components.solver_choice import generators as G
from components.solver_choice.solvers import solve
from components.core.llm import LLMCache, OpenAICompatCompletion
from components.solver_choice.translators import ChatTranslator, GoldTranslator, NoisyGoldTranslator


def test_noisy_gold_eps0_is_gold_and_eps1_breaks_programs():
    items = G.prontoqa(2, 6, (1, 4), "t")
    gold = GoldTranslator()
    for lang in ("pyke", "fol", "z3"):
        assert [NoisyGoldTranslator(0.0, 0).translate(it, lang) for it in items] == [gold.translate(it, lang) for it in items]
        noisy = [NoisyGoldTranslator(1.0, 0).translate(it, lang) for it in items]
        assert sum(n != gold.translate(it, lang) for n, it in zip(noisy, items)) == len(items)


def test_openai_compat_against_a_loopback_stub():
    seen = []
    program = "Premises:\nP(A)\nConclusion:\nP(A)\n"

    class Stub(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen.append((self.path, body, self.headers.get("Authorization")))
            out = json.dumps({"choices": [{"message": {"content": "```\n" + program + "```"}}]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        def log_message(self, *a):
            pass

    server = HTTPServer(("127.0.0.1", 0), Stub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        import os

        os.environ["SC_TEST_KEY"] = "sk-test"
        complete = OpenAICompatCompletion(f"http://127.0.0.1:{server.server_port}/v1", "stub-model", "SC_TEST_KEY")
        item, shot = G.prontoqa(0, 2, (1, 1), "t")
        cache = LLMCache()
        tr = ChatTranslator("openai_stub-model", complete, {"prontoqa": [shot]}, 256, cache)
        text = tr.translate(item, "fol", "prontoqa")
        again = tr.translate(item, "fol", "prontoqa")  # from the reply cache: no second request
    finally:
        server.shutdown()
    assert len(seen) == 1 and (cache.hits, cache.misses) == (1, 1) and again == text
    path, body, auth = seen[0]
    assert path == "/v1/chat/completions" and body["model"] == "stub-model" and body["temperature"] == 0
    msgs = body["messages"]
    assert auth == "Bearer sk-test" and item["context"] in msgs[-1]["content"]
    assert shot["context"] in msgs[1]["content"] and msgs[2]["role"] == "assistant"  # one few-shot turn: gold program
    assert msgs[2]["content"] == GoldTranslator().translate(shot, "fol")
    assert text.strip() == program.strip() and solve("fol", text, 3)["answer"] == "A"


def test_cached_greedy_matches_full_redecode():
    """The prefix-cached greedy decoder gives the same tokens as re-decoding the whole prefix every step
    (random untrained weights: long, PAD-containing outputs exercise the key-padding mask too)."""
    import torch

    from components.solver_choice.seq2seq import build_model, greedy, greedy_full, pad

    torch.manual_seed(3)
    cfg = {"d_model": 32, "heads": 4, "layers": 2, "ffn": 64, "dropout": 0.1}
    model = build_model(40, 12, cfg)
    gen = torch.Generator().manual_seed(5)
    src = pad([torch.randint(4, 40, (int(n),), generator=gen).tolist() for n in torch.randint(3, 15, (24,), generator=gen)])
    full = greedy_full(model, src, 20)
    assert greedy(model, src, 20) == full
    assert any(0 in row[:-1] for row in full) or any(len(row) == 20 for row in full)


def test_smollm2_translates_offline_from_the_wheel(tmp_path):
    """Spec §9.10: the smollm2 backend loads offline (the wheel's GGUF) and returns a non-empty program; the job
    runner writes its reply cache, so the same job again is answered from it (the one solver_choice test that
    loads the model, 25–85 s)."""
    from components.solver_choice.translators import chat_translate_job, few_shot_examples

    items, train = G.prontoqa(0, 1, (1, 1), "t"), G.prontoqa(1, 6, (1, 1), "tr")
    job = {"translator": "smollm2", "lang": "pyke", "dataset": "prontoqa", "max_tokens": 48, "openai": {},
           "items": items, "shots": few_shot_examples(train, 1), "cache": str(tmp_path / "smollm2_pyke.json")}
    first = chat_translate_job(job)
    prog = first["programs"][0]
    assert prog.strip() and first["cache_misses"] == 1
    again = chat_translate_job(job)
    assert again["programs"] == first["programs"] and (again["cache_hits"], again["cache_misses"]) == (1, 0)
