"""shuangta-sd: a system-dynamics model of Shuangta District's economy.

Public API (everything the command line does is available from Python)::

    from sim import load_model, load_scenario, run_scenario
"""

__version__ = "0.1.0"
