from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.base import clone

from labelkitchen.errors import InvalidInput, NotFitted, NotFound
from labelkitchen.weak import (
    DawidSkene,
    LabelMatrix,
    LabelModel,
    MajorityVote,
    MatrixCompletion,
    WeightedVote,
    available_models,
    compute_stats,
    get_model,
    load_model,
)

MODEL_NAMES = available_models()


def synthetic(n=400, accuracies=(0.9, 0.8, 0.75, 0.6, 0.55), coverage=0.6, k=3, seed=0):
    """Conditionally independent LFs with known accuracies; returns dense L and gold y."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    columns = []
    for accuracy in accuracies:
        votes = np.where(rng.random(n) < accuracy, y, (y + rng.integers(1, k, n)) % k)
        columns.append(np.where(rng.random(n) < coverage, votes, -1))
    return np.stack(columns, axis=1), y


@pytest.fixture(scope="module")
def data():
    return synthetic()


@pytest.fixture(scope="module")
def dev():
    return synthetic(n=150, seed=1)


# the contract every registered label model keeps ------------------------------------------------


def test_registry_holds_the_documented_names():
    assert {
        "majority_vote.v1",
        "dawid_skene.v1",
        "matrix_completion.v1",
        "label_model.v1",
    } <= set(MODEL_NAMES)


def test_registry_miss_lists_what_is_available():
    with pytest.raises(NotFound, match=r"available: .*dawid_skene\.v1"):
        get_model("snorkel.v9")


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_builds_without_arguments_and_clones(name):
    model = get_model(name)()
    assert clone(model).get_params() == model.get_params()


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_init_stores_hyperparameters_unchanged(name):
    model = get_model(name)(random_state=7)
    assert model.random_state == 7
    assert model.get_params()["random_state"] == 7


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_fit_returns_self(name, data):
    model = get_model(name)()
    assert model.fit(data[0]) is model


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_learned_attributes_end_in_underscore(name, data):
    model = get_model(name)()
    before = set(vars(model))
    model.fit(data[0])
    learned = set(vars(model)) - before
    assert learned
    assert all(a.endswith("_") for a in learned)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_predict_proba_rows_are_distributions(name, data):
    probs = get_model(name)().fit(data[0]).predict_proba(data[0])
    assert probs.shape == (data[0].shape[0], 3)
    assert np.all(probs >= 0)
    assert np.allclose(probs.sum(axis=1), 1.0)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_predict_returns_classes(name, data):
    predictions = get_model(name)(random_state=0).fit(data[0]).predict(data[0])
    assert set(np.unique(predictions)) <= {0, 1, 2}


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_beats_chance_on_informative_lfs(name, data):
    L, y = data
    assert np.mean(get_model(name)(random_state=0).fit(L).predict(L) == y) > 0.6


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_predicting_before_fit_raises_not_fitted(name, data):
    with pytest.raises(NotFitted, match="fit"):
        get_model(name)().predict_proba(data[0])


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_sparse_and_dense_input_agree(name, data):
    dense = get_model(name)().fit(data[0]).predict_proba(data[0])
    matrix = LabelMatrix.from_dense(data[0])
    sparse = get_model(name)().fit(matrix).predict_proba(matrix)
    assert np.allclose(dense, sparse)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_fitting_on_summed_partition_stats_equals_fitting_on_l(name, data):
    L = data[0]
    stats = compute_stats(L[:150]) + compute_stats(L[150:])
    on_stats = get_model(name)().fit(stats).predict_proba(L)
    assert np.allclose(on_stats, get_model(name)().fit(L).predict_proba(L))


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_save_load_round_trip(name, data, dev, tmp_path):
    model = get_model(name)(random_state=0).fit(data[0], L_dev=dev[0], y_dev=dev[1])
    model.save(tmp_path / "model")
    restored = load_model(tmp_path / "model")
    assert type(restored) is type(model)
    assert json.dumps(restored.get_params()) == json.dumps(model.get_params())
    assert np.array_equal(restored.predict_proba(data[0]), model.predict_proba(data[0]))


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_saved_form_is_json_plus_npz_without_pickle(name, data, tmp_path):
    get_model(name)().fit(data[0]).save(tmp_path / "m")
    document = json.loads((tmp_path / "m" / "model.json").read_text())
    assert document["model"] == name
    with np.load(tmp_path / "m" / "arrays.npz", allow_pickle=False) as arrays:
        assert all(arrays[key].dtype != object for key in arrays.files)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_wrong_number_of_lfs_is_refused(name, data):
    model = get_model(name)().fit(data[0])
    with pytest.raises(InvalidInput, match="LFs"):
        model.predict_proba(data[0][:, :2])


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_same_random_state_same_predictions(name, data):
    a = get_model(name)(random_state=3).fit(data[0]).predict(data[0])
    b = get_model(name)(random_state=3).fit(data[0]).predict(data[0])
    assert np.array_equal(a, b)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_given_class_balance_must_match_the_classes(name, data):
    with pytest.raises(InvalidInput, match="class_balance"):
        get_model(name)().fit(data[0], class_balance=[0.5, 0.5])


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_dev_votes_without_gold_are_refused(name, data):
    with pytest.raises(InvalidInput, match="together"):
        get_model(name)().fit(data[0], L_dev=data[0])


@given(
    hnp.arrays(
        np.int64,
        st.tuples(st.integers(1, 25), st.integers(1, 6)),
        elements=st.integers(-1, 2),
    ),
    st.sampled_from(MODEL_NAMES),
)
@settings(max_examples=60, deadline=None)
def test_probabilities_sum_to_one_on_any_matrix(L, name):
    probs = get_model(name)(n_classes=3).fit(L).predict_proba(L)
    assert np.allclose(probs.sum(axis=1), 1.0)
    assert np.all(np.isfinite(probs))


# majority vote, by hand ------------------------------------------------------------------------


def test_majority_vote_probabilities_by_hand(tiny_L):
    probs = MajorityVote().fit(tiny_L).predict_proba(tiny_L)
    assert probs.tolist() == [[1, 0], [0, 1], [1, 0], [0.5, 0.5], [0, 1], [0.5, 0.5]]


@pytest.mark.parametrize(
    ("tie_break", "expected"),
    [("first", [0, 1, 0, 0, 1, 0]), ("abstain", [0, 1, 0, -1, 1, -1])],
)
def test_majority_vote_tie_breaks(tiny_L, tie_break, expected):
    assert MajorityVote().fit(tiny_L).predict(tiny_L, tie_break=tie_break).tolist() == expected


def test_random_tie_break_picks_only_tied_classes():
    L = np.array([[0, 1, -1]] * 200 + [[2, 2, 1]])
    predictions = MajorityVote(random_state=0).fit(L).predict(L, tie_break="random")
    assert set(predictions[:200]) == {0, 1}
    assert predictions[200] == 2


def test_unknown_tie_break_is_refused(tiny_L):
    with pytest.raises(InvalidInput, match="tie_break"):
        MajorityVote().fit(tiny_L).predict(tiny_L, tie_break="coin")


def test_uncovered_records_get_the_class_balance(tiny_L):
    probs = MajorityVote().fit(tiny_L, class_balance=[0.8, 0.2]).predict_proba(tiny_L)
    assert probs[3].tolist() == [0.8, 0.2]


@given(
    hnp.arrays(
        np.int64, st.tuples(st.integers(1, 20), st.integers(2, 6)), elements=st.integers(-1, 3)
    ),
    st.randoms(use_true_random=False),
)
@settings(max_examples=50)
def test_permuting_lfs_does_not_change_majority_vote(L, random):
    order = list(range(L.shape[1]))
    random.shuffle(order)
    model = MajorityVote(n_classes=4).fit(L)
    assert np.array_equal(model.predict_proba(L), model.predict_proba(L[:, order]))


# the other models ----------------------------------------------------------------------------


def test_dawid_skene_learns_a_confusion_matrix_per_source(data):
    model = DawidSkene().fit(data[0])
    assert model.confusion_.shape == (5, 3, 4)  # abstain is the last outcome
    assert np.allclose(model.confusion_.sum(axis=2), 1.0)


def test_dawid_skene_ignoring_abstains_has_square_confusions(data):
    assert DawidSkene(abstain="ignore").fit(data[0]).confusion_.shape == (5, 3, 3)


def test_dawid_skene_ranks_sources_by_accuracy(data):
    accuracy = DawidSkene().fit(data[0]).accuracy_
    assert list(np.argsort(-accuracy)[:2]) == [0, 1]


def test_dawid_skene_rejects_an_unknown_abstain_mode(data):
    with pytest.raises(InvalidInput, match="abstain"):
        DawidSkene(abstain="skip").fit(data[0])


def test_matrix_completion_recovers_the_accuracy_order(data):
    mu = MatrixCompletion().fit(data[0]).mu_
    conditional = np.einsum("jcc->jc", mu).sum(axis=1) / mu.sum(axis=(1, 2))
    assert list(np.argsort(-conditional)[:2]) == [0, 1]


def test_weighted_vote_from_dev_counts_correct_votes(data, dev):
    model = WeightedVote(accuracy_source="dev", prior_strength=0).fit(
        data[0], L_dev=dev[0], y_dev=dev[1]
    )
    L_dev, y_dev = dev
    voted = L_dev[:, 0] >= 0
    assert model.accuracy_[0] == pytest.approx(np.mean(L_dev[voted, 0] == y_dev[voted]))


def test_weighted_vote_gives_worse_than_chance_sources_no_weight():
    L = np.array([[0, 1, 1], [1, 0, 0], [0, 1, 1], [1, 0, 0]] * 10)
    model = WeightedVote().fit(L)
    assert model.weights_[0] == 0.0
    assert model.weights_[1] > 0


def test_label_model_without_dev_uses_its_default(data):
    expected = (
        "majority_vote.v1(tie_break_check='dawid_skene.v1', tie_break_model='weighted_vote.v1', "
        "tie_break_overrule=True)"
    )
    assert LabelModel().fit(data[0]).selected_ == expected


def test_label_model_is_never_worse_than_majority_vote_on_dev(data, dev):
    model = LabelModel(random_state=0).fit(data[0], L_dev=dev[0], y_dev=dev[1])
    baseline = next(v for k, v in model.scores_.items() if k.startswith("majority_vote.v1() @ dev"))
    assert model.scores_[model.selected_] >= baseline


def test_label_model_keeps_majority_vote_when_nothing_is_clearly_better(dev):
    L = np.array([[0, 0], [1, 1], [0, -1], [-1, 1]] * 20)
    y = np.array([0, 1, 0, 1] * 20)
    model = LabelModel(random_state=0).fit(L, L_dev=L, y_dev=y)
    assert model.selected_.startswith("majority_vote.v1()")


def test_label_model_candidates_can_be_named(data, dev):
    model = LabelModel(candidates=["dawid_skene.v1"], balances=["dev"], random_state=0)
    model.fit(data[0], L_dev=dev[0], y_dev=dev[1])
    assert set(model.scores_) == {"majority_vote.v1() @ dev", "dawid_skene.v1() @ dev"}


def test_label_model_rejects_an_unknown_candidate(data, dev):
    with pytest.raises(NotFound, match="available"):
        LabelModel(candidates=["oracle.v1"]).fit(data[0], L_dev=dev[0], y_dev=dev[1])


@pytest.mark.parametrize("metric", ["accuracy", "macro_f1", "f1"])
def test_label_model_selects_with_any_metric(metric, data, dev):
    model = LabelModel(metric=metric, random_state=0).fit(data[0], L_dev=dev[0], y_dev=dev[1])
    assert model.selected_ in model.scores_


# vectorised helpers of the fits, against plain loops


@pytest.mark.parametrize("shape", [(7, 1), (50, 5), (9, 3), (20, 17)])
@pytest.mark.parametrize("dtype", [np.float64, np.int64, np.bool_])
def test_row_max_and_row_sum_equal_numpy(shape, dtype):
    from labelkitchen.weak.model_base import row_max, row_sum

    values = np.random.default_rng(sum(shape)).normal(size=shape)
    values = (
        values > 0 if dtype is np.bool_ else values.astype(dtype) if dtype is np.int64 else values
    )
    assert np.array_equal(row_max(values), values.max(axis=1))
    assert np.array_equal(row_sum(values), values.sum(axis=1))


@pytest.mark.parametrize("heaviest", [None, 1e6])  # the heaviest weight, or a loose bound
@pytest.mark.parametrize("seed", range(4))
def test_leave_one_out_agreement_equals_a_loop_over_votes(seed, heaviest):
    from labelkitchen.weak.weighted_vote import _leave_one_out_agreement

    rng = np.random.default_rng(seed)
    k, n, m = 3, 60, 6
    dense = np.where(rng.random((n, m)) < 0.5, rng.integers(0, k, (n, m)), -1)
    dense[0] = -1  # a record without votes
    dense[1] = [0, 1, -1, -1, -1, -1]  # two sources, one vote each
    L = LabelMatrix.from_dense(dense)
    rows, cols, labels = L.to_triplets()
    weight = rng.choice([0.5, 1.0, 2.0], size=m)  # equal weights make exact ties
    own = weight[cols]
    cells = labels.astype(np.int64) * n + rows  # classes x records
    scores = np.bincount(cells, weights=own, minlength=n * k).reshape(k, n).T
    bound = weight.max() if heaviest is None else heaviest
    agree, silent = _leave_one_out_agreement(np.ascontiguousarray(scores.T), cells, own, bound)
    use = ~np.isin(np.arange(rows.size), silent)
    for v in range(rows.size):
        others = scores[rows[v]].copy()
        others[labels[v]] -= own[v]  # the record's weighted vote without this vote
        rest = np.delete(others, labels[v])
        assert use[v] == (others.max() > 1e-9)
        if not use[v]:
            continue
        best = rest.max()
        if others[labels[v]] > best + 1e-9:
            assert agree[v] == 1.0
        elif abs(others[labels[v]] - best) <= 1e-9:
            assert agree[v] == pytest.approx(1.0 / (np.sum(np.abs(rest - best) <= 1e-9) + 1))
        else:
            assert agree[v] == 0.0


@pytest.mark.parametrize("block", [1, 4, 16])
def test_weighted_vote_agreement_does_not_depend_on_the_block_size(block, monkeypatch):
    from labelkitchen.weak import weighted_vote

    rng = np.random.default_rng(block)
    dense = np.where(rng.random((40, 6)) < 0.5, rng.integers(0, 3, (40, 6)), -1)
    dense = np.vstack([dense, dense[:10]])  # repeated rows: votes counted with weights
    whole = WeightedVote(n_classes=3, accuracy_source="agreement").fit(dense)
    monkeypatch.setattr(weighted_vote, "_BLOCK_RECORDS", block)
    blocked = WeightedVote(n_classes=3, accuracy_source="agreement").fit(dense)
    assert np.allclose(blocked.accuracy_, whole.accuracy_, rtol=0, atol=1e-12)
    assert blocked.n_iter_ == whole.n_iter_


@pytest.mark.parametrize(
    "name", ["majority_vote.v1", "weighted_vote.v1", "dawid_skene.v1", "label_model.v1"]
)
def test_records_no_lf_voted_on_get_the_dev_shares_of_such_records(name, tmp_path):
    """Class 0 is most records, but the LFs cover it well: the dev records no LF voted on are
    mostly class 1, and that is the answer for a silent record, not the overall balance."""
    rng = np.random.default_rng(1)
    y = (rng.random(3000) < 0.3).astype(int)
    L = np.full((3000, 3), -1)
    for j in range(3):
        fires = rng.random(3000) < np.where(y == 0, 0.7, 0.1)
        L[fires, j] = np.where(rng.random(3000) < 0.85, y, 1 - y)[fires]
    dev = np.arange(3000) < 500
    model = get_model(name)(n_classes=2, random_state=0)
    model.fit(L[~dev], L_dev=L[dev], y_dev=y[dev])
    silent = dev & (L == -1).all(axis=1)
    expected = (np.bincount(y[silent], minlength=2) + 1.0) / (silent.sum() + 2)
    assert expected[1] > 0.5 > float(np.mean(y))  # the silent records differ from the rest
    assert model.predict_proba(np.array([[-1, -1, -1]]))[0] == pytest.approx(expected)
    restored = load_model(model.save(tmp_path / "m"))
    assert restored.predict_proba(np.array([[-1, -1, -1]]))[0] == pytest.approx(expected)
    model.fit(L[~dev])  # refitted without dev gold: back to the model's own answer
    assert not hasattr(model, "uncovered_balance_")
