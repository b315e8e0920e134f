"""A config's trip to a run, as a library: find it by path or name (:mod:`~mmmixer.config.find`), read it
(:mod:`~mmmixer.config.read`), apply ``--cfg-options`` (:mod:`~mmmixer.config.options`), check it
(:mod:`~mmmixer.config.checks`, with :mod:`~mmmixer.config.arguments` and :mod:`~mmmixer.config.dry_build`) and
prepare it for mmengine's Runner (:mod:`~mmmixer.config.prepare`)."""
