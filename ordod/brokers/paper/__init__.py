"""The simulated ("paper") broker: Ordo's embedded default, so it runs with no accounts."""
