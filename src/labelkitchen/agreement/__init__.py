"""Inter-annotator agreement as pure functions.

Ratings come as units x coders, one row per unit and ``None`` for a missing rating::

    ratings = [["spam", "spam", None], ["ham", "spam", "ham"], ["ham", "ham", "ham"]]
    fleiss_kappa(ratings)               # about 0.55
    krippendorff_alpha(ratings)         # about 0.53 (nominal by default)
    cohen_kappa(["a", "b"], ["a", "a"])  # 0.0: two coders as two label lists

Every coefficient is a float, ``math.nan`` when it is undefined (everyone chose one category;
no unit has two ratings), never 0. Each function has a ``*_result`` twin that returns an
:class:`AgreementResult` with the reason, for reports that must say "undefined, because ...".
:func:`bootstrap_ci` gives a percentile interval for any of them by resampling units.
"""

from labelkitchen.agreement.alpha import Level, krippendorff_alpha, krippendorff_alpha_result
from labelkitchen.agreement.bootstrap import bootstrap_ci
from labelkitchen.agreement.categorical import (
    Weights,
    cohen_kappa,
    cohen_kappa_result,
    fleiss_kappa,
    fleiss_kappa_result,
    gwet_ac1,
    gwet_ac1_result,
    percent_agreement,
    percent_agreement_result,
    scott_pi,
    scott_pi_result,
)
from labelkitchen.agreement.ratings import Label, Labels, Ratings
from labelkitchen.agreement.result import AgreementResult, ConfidenceInterval
from labelkitchen.agreement.spans import Span, SpanMatch, Spans, span_f1, span_f1_result

__all__ = [
    "AgreementResult",
    "ConfidenceInterval",
    "Label",
    "Labels",
    "Level",
    "Ratings",
    "Span",
    "SpanMatch",
    "Spans",
    "Weights",
    "bootstrap_ci",
    "cohen_kappa",
    "cohen_kappa_result",
    "fleiss_kappa",
    "fleiss_kappa_result",
    "gwet_ac1",
    "gwet_ac1_result",
    "krippendorff_alpha",
    "krippendorff_alpha_result",
    "percent_agreement",
    "percent_agreement_result",
    "scott_pi",
    "scott_pi_result",
    "span_f1",
    "span_f1_result",
]
