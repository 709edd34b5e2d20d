"""Molecular property prediction: a message-passing neural network on RDKit molecular graphs and a
fingerprint MLP, with a random-forest baseline, on MoleculeNet CSVs, your own CSV, or the
FreeWilson set bundled with rdkit."""

from applications.registry import Domain

DOMAIN = Domain(
    name="drug_discovery",
    order=6,
    summary="Molecular property prediction: message-passing network on RDKit graphs, fingerprint MLP, random forest.",
    config_class="applications.drug_discovery.config:DrugDiscoveryConfig",
    extra="drug",
    requires=("rdkit",),
    fallback=("--dataset", "freewilson"),
    run_all=(
        ("--dataset", "auto"),
        ("--dataset", "auto", "--split", "random"),
        ("--dataset", "bbbp"),
        ("--dataset", "bbbp", "--split", "random"),
    ),
)
