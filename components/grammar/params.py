"""Typed params of the ``grammar`` block of params.yaml (unknown keys are errors)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from components.core.params import StrictModel

TemplateId = Literal["T1", "T2", "T3", "T4", "T5", "T6", "T7", "T8"]
RetrieverName = Literal["keyword", "tfidf", "bm25", "dense"]
ReaderName = Literal["oracle", "learned", "brittle", "llm"]
BackendName = Literal["rules", "smollm2", "openai_compat"]
Attribute = Literal["short", "long"]


class Rows(StrictModel):
    company: int = Field(ge=2, description="company rows")
    person: int = Field(ge=2, description="person rows (each has exactly one employment row)")
    project: int = Field(ge=2, description="project rows")


class DbParams(StrictModel):
    rows: Rows
    n_industries: int = Field(8, ge=2, le=16)
    n_cities: int = Field(10, ge=2, le=20)
    n_nationalities: int = Field(8, ge=2, le=16)
    n_colleges: int = Field(10, ge=2, le=20)
    year_range: tuple[int, int] = Field((1950, 2020), description="founded / birth / start years")

    @field_validator("year_range")
    @classmethod
    def _ordered(cls, value: tuple[int, int]) -> tuple[int, int]:
        if value[0] >= value[1]:
            raise ValueError(f"year_range must be [low, high] with low < high, got {list(value)}")
        return value


class Keep(StrictModel):
    short: float = Field(gt=0, le=1, description="unbalanced keep rate of short variants")
    long: float = Field(gt=0, le=1, description="unbalanced keep rate of long variants")
    long_defect_groups: float = Field(gt=0, le=1, description="long keep rate in missing-doc/deleted-fact groups")


class QueryParams(StrictModel):
    templates: list[TemplateId] = Field(min_length=1, description="SQL templates of spec §4.2")
    K: int = Field(ge=2, le=20, description="text variants per group and attribute")
    attributes: list[Attribute] = Field(min_length=2, description="contrastive linguistic attributes")
    long_min_words: int = Field(30, ge=10)
    distractor_entity_prob: float = Field(0.2, ge=0, le=1, description="long background names another entity")
    long_style: Literal["calibrated", "stress"] = Field(
        "calibrated", description="long background: generic filler absent from documents, or domain words (stress)")
    paraphrase_seed: int = Field(0, description="offset: paraphrase draws derive from (grammar.seed, this)")
    keep: Keep
    unbalanced_seed: int = Field(0, description="offset: unbalanced subsampling derives from (grammar.seed, this)")

    @field_validator("templates", "attributes")
    @classmethod
    def _unique(cls, value: list) -> list:
        if len(set(value)) != len(value):
            raise ValueError(f"entries must be unique, got {value}")
        return value


class MissingDocs(StrictModel):
    table: Literal["company", "person", "project"] = "project"
    fraction: float = Field(ge=0, lt=1)


class DeletedFact(StrictModel):
    column: Literal["employment.years_working"] = "employment.years_working"
    fraction: float = Field(ge=0, lt=1)


class DefectParams(StrictModel):
    missing_docs: MissingDocs
    deleted_fact: DeletedFact


class OpenAICompat(StrictModel):
    base_url: str = Field("http://127.0.0.1:8000/v1", description="OpenAI-compatible endpoint")
    model: str = "gpt-4"
    api_key_env: str = Field("OPENAI_API_KEY", description="name of the env var holding the key")
    timeout_s: float = Field(60, gt=0)
    retries: int = Field(3, ge=0)


class LlmParams(StrictModel):
    paraphrase: BackendName = Field("rules", description="backend of the paraphrase role")
    generator: BackendName = Field("rules", description="backend behind reader `llm`")
    judge: BackendName = Field("rules", description="backend of the judge role (rules = normalised match)")
    max_calls: int = Field(20000, ge=1, description="budget of LLM calls per role and run")
    max_new_tokens: int = Field(24, ge=1)
    openai_compat: OpenAICompat = OpenAICompat()


class ReaderTrain(StrictModel):
    epochs: int = Field(ge=1)
    max_steps: int = Field(-1, description="-1 = no step limit (smoke uses 30)")
    d_model: int = Field(64, ge=8)
    heads: int = Field(4, ge=1)
    layers: int = Field(2, ge=1)
    max_len: int = Field(192, ge=32)
    batch_size: int = Field(32, ge=1)
    lr: float = Field(1e-3, gt=0)
    dropout: float = Field(0.1, ge=0, lt=1)


class RetrievalParams(StrictModel):
    retrievers: list[RetrieverName] = Field(min_length=1)
    top_k: int = Field(1, ge=1, description="documents handed to the reader")
    bm25_k1: float = Field(1.5, gt=0)
    bm25_b: float = Field(0.75, ge=0, le=1)


class EvaluateParams(StrictModel):
    readers: list[ReaderName] = Field(min_length=1)
    bootstrap: int = Field(1000, ge=10, description="group-bootstrap replicates for 95% CIs")
    consistency_samples: int = Field(4, ge=2, description="SelfCheck-style samples per query")
    consistency_temperature: float = Field(0.5, gt=0, description="softmax temperature of stochastic retrieval")
    baseline_groups: int = Field(60, ge=1, description="groups (seeded sample) the reference-free baselines score")


class LlmArm(StrictModel):
    enabled: bool = Field(False, description="run bm25 + LLM generator + LLM judge on a small query set")
    backend: BackendName = "smollm2"
    groups: int = Field(12, ge=1)
    variants: int = Field(2, ge=1)


class G6Judge(StrictModel):
    enabled: bool = Field(False, description="decide G6 with an LLM faithfulness judge on a sample (issue 16)")
    backend: BackendName = "smollm2"
    per_system: int = Field(40, ge=1, description="long queries (non-empty answers) judged per system")
    control: int = Field(20, ge=1, description="control pairs (supported / unsupported) for judge competence")


class PaperData(StrictModel):
    source: Literal["spider", "spider_closed", "aurp"] | None = Field(
        None, description="official GRAMMAR data set to load (spec §4.8); null = the generated miniature")
    data_dir: str | None = Field(None, description="the repository's benchmarks/<source>/ folder")


class InteropParams(StrictModel):
    import_dir: str | None = Field(None, description="folder of official GRAMMAR eval_results/*.json to re-score")


class GrammarParams(StrictModel):
    seed: int = 0
    db: DbParams
    queries: QueryParams
    defects: DefectParams
    llm: LlmParams = LlmParams()
    reader: ReaderTrain
    retrieval: RetrievalParams
    evaluate: EvaluateParams
    llm_arm: LlmArm = LlmArm()
    g6_judge: G6Judge = G6Judge()
    paper: PaperData = PaperData()
    interop: InteropParams = InteropParams()
