"""Weak supervision: labelling functions, appliers, LF analysis and label models.

Pure core: functions and small classes over Python objects and numpy/scipy arrays; no database,
network, global state or printing. Labels are ``0..K-1`` inside the maths and ``ABSTAIN = -1``.

>>> from labelkitchen.weak import keyword_lf, apply_lfs, LabelModel
>>> lfs = [keyword_lf("promo", ["subscribe", "my channel"], "spam"),
...        keyword_lf("song", ["song", "love this"], "ham")]
>>> texts = ["Subscribe to my channel!", "I love this song"]
>>> result = apply_lfs(lfs, texts, labels=["ham", "spam"])
>>> result.L.to_dense().tolist()
[[1, -1], [-1, 0]]
>>> LabelModel().fit(result.L).predict(result.L).tolist()
[1, 0]
"""

from labelkitchen.weak.analysis import (
    CoverageReport,
    LFStats,
    LFSummary,
    PairwiseCache,
    conflict_counts,
    lf_summary,
    score_with_abstains,
    wilson_interval,
)
from labelkitchen.weak.appliers import DaskApplier, ProcessApplier, SerialApplier
from labelkitchen.weak.apply import (
    ApplyResult,
    LFFault,
    MultilabelApplyResult,
    SpanApplyResult,
    SpanVotes,
    apply_lfs,
    apply_multilabel_lfs,
    apply_span_lfs,
)
from labelkitchen.weak.cache import LFCache
from labelkitchen.weak.declarative import DeclarativeLF, lf_from_dict
from labelkitchen.weak.labels import ABSTAIN, LabelIndex
from labelkitchen.weak.lf import LabelingFunction, Record, labeling_function
from labelkitchen.weak.matrix import LabelMatrix
from labelkitchen.weak.models import (
    BaseLabelModel,
    DawidSkene,
    LabelModel,
    MajorityVote,
    MatrixCompletion,
    WeightedVote,
    available_models,
    get_model,
    load_model,
)
from labelkitchen.weak.multilabel import (
    fit_per_label,
    lf_summary_per_label,
    predict_proba_per_label,
)
from labelkitchen.weak.readers import WrenchSplit, read_snorkel_arrays, read_wrench
from labelkitchen.weak.rule_lfs import keyword_lf, lookup_lf, regex_lf, threshold_lf
from labelkitchen.weak.span_hmm import TagHMM
from labelkitchen.weak.span_lfs import gazetteer_span_lf, regex_span_lf
from labelkitchen.weak.spans import (
    aggregate_spans,
    span_lf_summary,
    tags_to_spans,
    token_label_matrix,
)
from labelkitchen.weak.stats import LabelStats, compute_stats, merge_stats

__all__ = [
    "ABSTAIN",
    "ApplyResult",
    "BaseLabelModel",
    "CoverageReport",
    "DaskApplier",
    "DawidSkene",
    "DeclarativeLF",
    "LFCache",
    "LFFault",
    "LFStats",
    "LFSummary",
    "LabelIndex",
    "LabelMatrix",
    "LabelModel",
    "LabelStats",
    "LabelingFunction",
    "MajorityVote",
    "MatrixCompletion",
    "MultilabelApplyResult",
    "PairwiseCache",
    "ProcessApplier",
    "Record",
    "SerialApplier",
    "SpanApplyResult",
    "SpanVotes",
    "TagHMM",
    "WeightedVote",
    "WrenchSplit",
    "aggregate_spans",
    "apply_lfs",
    "apply_multilabel_lfs",
    "apply_span_lfs",
    "available_models",
    "compute_stats",
    "conflict_counts",
    "fit_per_label",
    "gazetteer_span_lf",
    "get_model",
    "keyword_lf",
    "labeling_function",
    "lf_from_dict",
    "lf_summary",
    "lf_summary_per_label",
    "load_model",
    "lookup_lf",
    "merge_stats",
    "predict_proba_per_label",
    "read_snorkel_arrays",
    "read_wrench",
    "regex_lf",
    "regex_span_lf",
    "score_with_abstains",
    "span_lf_summary",
    "tags_to_spans",
    "threshold_lf",
    "token_label_matrix",
    "wilson_interval",
]
