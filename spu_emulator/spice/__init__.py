"""The SPICE bridge: ``export`` (netlist → deck, pure text: the validation decks and the
decks that run on their own), ``importer`` (deck → netlist, reading SPICE text with
``deck`` and ``expr``), ``run`` (ngspice in batch mode), ``checks`` (the cross-checks,
one module each, behind one interface), ``validate`` (the one driver and its report),
``reference`` (stored ngspice outputs) and ``plots`` (figures of a report)."""
