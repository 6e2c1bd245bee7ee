"""Domain vocabulary: fictional value lists, name syllables, attribute synonyms, filler words.

Shared by the DB generator, the document renderer, the paraphrase grammar and the rule readers, so a
value or synonym is defined once.
"""

from __future__ import annotations

INDUSTRIES = ("fintech", "logistics", "biotech", "agritech", "robotics", "retail", "energy", "aerospace",
              "media", "insurance", "textiles", "gaming", "mining", "pharmaceuticals", "shipping", "telecoms")
CITIES = ("Norvale", "Brightmoor", "Kestrel Bay", "Ambermouth", "Lunhaven", "Orrin Falls", "Sablecrest",
          "Whitlow", "Quenford", "Marrowgate", "Tessaly", "Corvane", "Duskmere", "Pellaro", "Yarrowick",
          "Fenmarch", "Halcyra", "Ostwyn", "Rivenholt", "Zalbury")
NATIONALITIES = ("Valdorian", "Ostrelian", "Kirvani", "Merovish", "Tallurian", "Sardovan", "Elbrican",
                 "Quorish", "Nandari", "Pelusian", "Tirvanese", "Olmecan", "Darvish", "Zorathi", "Brevonian",
                 "Castrelli")
COLLEGES = ("Ashford Institute", "Bellmere College", "Corrow University", "Daneholt Academy",
            "Elstree Polytechnic", "Farrow University", "Glenmoor College", "Harwick Institute",
            "Iverly University", "Jessop College", "Kilbride Academy", "Lorne Polytechnic", "Mervale University",
            "Northam College", "Oxlow Institute", "Penhallow University", "Quillan College", "Rooksby Academy",
            "Stanmere University", "Thornby College")
SYLLABLES = ("vel", "cor", "ra", "zan", "mir", "tho", "bel", "dra", "qui", "lo", "sen", "var", "kal", "ori",
             "pex", "tal", "nym", "ju", "fen", "dor", "ask", "wyn", "bra", "ess", "lum", "gar", "ith", "ova")
COMPANY_SUFFIXES = ("Corp", "Labs", "Group", "Works", "Systems", "Partners")
PROJECT_NOUNS = ("Beacon", "Atlas", "Harbor", "Summit", "Meridian", "Lantern", "Keystone", "Horizon", "Pioneer",
                 "Cascade", "Aurora", "Citadel", "Falcon", "Granite", "Juniper", "Mosaic", "Nimbus", "Orchid")
BLOCKLIST = frozenset({"apple", "google", "amazon", "meta", "tesla", "oracle", "intel", "ibm", "samsung", "sony",
                       "nokia", "siemens", "microsoft", "nvidia", "alan turing", "ada lovelace", "elon musk",
                       "bill gates", "steve jobs", "corra", "vera", "dora", "nora"})

# attribute → (canonical word(s), other synonyms). The brittle reader knows only the canonical words.
SYNONYMS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "company.industry": (("industry",), ("sector", "line of business", "field", "business area")),
    "company.headquarters": (("headquarters",), ("head office", "home city", "base", "main office")),
    "company.founded_year": (("founded",), ("established", "year of creation", "launch year", "started")),
    "person.nationality": (("nationality",), ("citizenship", "national origin", "passport country",
                                              "country of origin")),
    "person.college": (("college",), ("alma mater", "university", "school attended", "place of study")),
    "employment.years_working": (("years working",), ("tenure", "length of service", "time employed",
                                                      "years of service")),
    "project.client": (("client",), ("customer", "commissioning company", "sponsor firm", "buyer")),
    "project.manager": (("manager",), ("project lead", "person in charge", "team leader", "supervisor")),
}

# Query backgrounds draw from GENERIC_WORDS, document filler from DOC_WORDS: the shared stressors are the
# cities, industries and entity names, not filler words.
DOC_WORDS = ("roadmap", "pipeline", "headcount", "compliance", "audit", "revenue", "forecast", "outreach",
             "workshop", "benchmark", "onboarding", "procurement", "tooling", "milestone", "hiring", "pricing")
GENERIC_WORDS = ("strategy", "market", "growth", "quarterly", "operations", "regional", "partners", "budget",
                 "team", "report", "portfolio", "supply", "customers", "planning", "review", "overview")
