"""The command lines: ``mmmixer COMMAND`` (:mod:`mmmixer.cli.main`) and ``tools/*.py`` both call ``main()`` here."""
