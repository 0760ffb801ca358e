"""Stress analytics (core): historical windows, shocks and betas, block bootstrap, Monte Carlo,
scenario trees and trigger probabilities.

Modules (import them directly; this package imports nothing heavy at import time):

* :mod:`engine.stress.simulate` -- many price paths through vectorbt's order functions;
* :mod:`engine.stress.bootstrap` -- stationary block bootstrap, Politis-White block length;
* :mod:`engine.stress.montecarlo` -- path chunks, per-path outcomes, summaries, Wilson intervals;
* :mod:`engine.stress.windows` -- historical windows with declared proxies;
* :mod:`engine.stress.shocks` -- factor betas by least squares and shock propagation;
* :mod:`engine.stress.tree` -- scenario trees (branches, mixture, regret).
"""
