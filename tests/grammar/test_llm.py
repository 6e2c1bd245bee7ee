"""Spec §9 acceptance 8: the LLM interface, its deterministic default, the OpenAI-compatible client
against a loopback stub server, and (one short test) SmolLM2 from the installed wheel."""

import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from components.core.errors import UserError
from components.grammar.llm import LLMCache, RulesLLM, make_llm

from helpers import free_port


def test_rules_backend_is_deterministic():
    a, b = RulesLLM(30, 0.2), RulesLLM(30, 0.2)
    t1 = a.paraphrase(["company.name"], "company.industry", "long", 5, 7)
    assert t1 == b.paraphrase(["company.name"], "company.industry", "long", 5, 7) and len(set(t1)) == 5
    assert all("'[company.name]'" in t and len(t.split()) >= 30 for t in t1)
    doc = "Velco Labs operates in the fintech industry."
    assert a.answer("sector of 'Velco Labs'", [doc]) == b.answer("sector of 'Velco Labs'", [doc]) == "fintech"
    assert a.judge("q", ["fintech"], "Fintech.") and not a.judge("q", ["fintech"], "biotech")


def test_no_module_builds_a_client_at_import():
    code = ("import sys, components.grammar.llm, components.grammar.steps, components.grammar.rag; "
            "print(sorted(m for m in ('transformers', 'torch', 'sentence_transformers', 'httpx') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


class _Stub(BaseHTTPRequestHandler):
    requests: list = []

    def do_POST(self):  # noqa: N802 (http.server API)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append({"path": self.path, "body": body, "auth": self.headers.get("Authorization")})
        prompt = body["messages"][-1]["content"]
        reply = "Correct" if "Gold answer" in prompt else "fintech"
        data = json.dumps({"choices": [{"message": {"role": "assistant", "content": reply}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def stub_server():
    _Stub.requests = []
    server = HTTPServer(("127.0.0.1", free_port()), _Stub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1", _Stub.requests
    server.shutdown()


def _llm_params(base_url: str, **extra):
    from components.grammar.params import LlmParams

    return LlmParams(openai_compat={"base_url": base_url, "model": "stub-model", "api_key_env": "GRAMMAR_TEST_KEY",
                                    "timeout_s": 5, "retries": 0}, **extra)


def test_openai_compat_against_a_loopback_stub(stub_server, tmp_path, monkeypatch):
    url, requests = stub_server
    monkeypatch.setenv("GRAMMAR_TEST_KEY", "sk-test")
    cache = LLMCache(tmp_path / "cache.json")
    llm = make_llm("openai_compat", _llm_params(url), cache)
    assert requests == []  # nothing is contacted before the first call
    assert llm.answer("sector of 'Velco Labs'", ["Velco Labs operates in the fintech industry."]) == "fintech"
    req = requests[0]
    assert req["path"] == "/v1/chat/completions" and req["auth"] == "Bearer sk-test"
    assert req["body"]["model"] == "stub-model" and req["body"]["temperature"] == 0.0
    assert [m["role"] for m in req["body"]["messages"]] == ["system", "user"]
    assert "### Sources" in req["body"]["messages"][1]["content"]
    assert llm.judge("q", ["fintech"], "fintech") is True
    assert len(requests) == 2
    llm.answer("sector of 'Velco Labs'", ["Velco Labs operates in the fintech industry."])
    assert len(requests) == 2 and cache.hits == 1  # second identical call: from the cache
    cache.save()
    replay = make_llm("openai_compat", _llm_params("http://127.0.0.1:9/v1"), LLMCache(tmp_path / "cache.json"))
    assert replay.answer("sector of 'Velco Labs'", ["Velco Labs operates in the fintech industry."]) == "fintech"


def test_openai_compat_paraphrase_keeps_only_valid_templates(stub_server):
    url, _ = stub_server
    llm = make_llm("openai_compat", _llm_params(url))
    texts = llm.paraphrase(["company.name"], "company.industry", "short", 3, 0)
    assert len(texts) == 3 and all("'[company.name]'" in t for t in texts)
    assert llm.paraphrase_topped_up == 3  # the stub's reply lacks the placeholder: all rejected, replaced


def test_unreachable_endpoint_and_budget_give_clear_errors(stub_server):
    dead = make_llm("openai_compat", _llm_params(f"http://127.0.0.1:{free_port()}/v1"))
    with pytest.raises(UserError, match="endpoint .* failed"):
        dead.answer("q", ["d"])
    url, _ = stub_server
    tight = make_llm("openai_compat", _llm_params(url, max_calls=1))
    tight.answer("q1", ["d"])
    with pytest.raises(UserError, match="budget exhausted"):
        tight.answer("q2", ["d"])


def test_smollm2_backend_answers_every_role():
    """The one test that loads SmolLM2 (25–85 s): offline, from the installed wheel, three roles."""
    import os

    os.environ["HF_HUB_OFFLINE"] = "1"
    from components.grammar.params import LlmParams

    llm = make_llm("smollm2", LlmParams(max_new_tokens=8))
    doc = "Velco Labs operates in the fintech industry."
    answer = llm.answer("What is the industry of 'Velco Labs'?", [doc])
    texts = llm.paraphrase(["company.name"], "company.industry", "short", 2, 0)
    verdict = llm.judge("What is the industry of 'Velco Labs'?", ["fintech"], answer)
    assert answer.strip() and len(texts) == 2 and all("'[company.name]'" in t for t in texts)
    assert isinstance(verdict, bool) and llm.calls == {"answer": 1, "paraphrase": 1, "judge": 1}


def test_judge_replies_of_small_models_are_parsed():
    from components.grammar.llm import parse_verdict

    assert parse_verdict("Correct") and parse_verdict("Yes, the response") and parse_verdict("The answer is correct")
    assert not parse_verdict("Incorrect") and not parse_verdict("No, the response") and not parse_verdict("")


def test_cache_replays_from_its_file_and_saves_back(tmp_path):
    """The evaluate step keeps its caches in data/grammar/llm_cache/, outside its staged outputs."""
    path = tmp_path / "llm_cache" / "c.json"
    path.parent.mkdir()
    path.write_text('{"k": ["v"]}')
    cache = LLMCache(path)
    assert cache.entries == {"k": ["v"]}
    cache.entries["k2"] = ["w"]
    cache.save()
    assert LLMCache(path).entries == {"k": ["v"], "k2": ["w"]}
    assert LLMCache(tmp_path / "absent.json").entries == {}
