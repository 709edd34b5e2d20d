"""Recommendation: rating prediction (biased matrix factorisation, NeuMF) and two-tower retrieval
with in-batch softmax, on MovieLens or any ratings file."""

from applications.registry import Domain

DOMAIN = Domain(
    name="recommendation",
    order=4,
    summary="Ratings (biased MF + NeuMF on a time-aware bias baseline) and two-tower retrieval (keras-rs).",
    config_class="applications.recommendation.config:RecommendationConfig",
    extra="recommendation",
    requires=("keras_rs",),
    run_all=(("--task", "rating"), ("--task", "retrieval")),
)
