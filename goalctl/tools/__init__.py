"""Tools a scenario declares for its agent to call (DESIGN §12).

A tool is ``{name, description, input_schema}`` and one implementation: ``mock`` rules written
in the scenario, a ``python`` function of the project marked ``@goalctl.tool``, or a
``command`` run in the case's workspace. The modules, by concern:

- :mod:`.model`: the declarations as a scenario file spells them (pydantic);
- :mod:`.marking`: ``@goalctl.tool``, light enough for a project module to import;
- :mod:`.implementations`: running one call of each kind;
- :mod:`.toolbox`: :class:`~goalctl.tools.toolbox.ToolBox`, the dispatcher an agent calls;
- :mod:`.validation`: what ``goalctl validate`` checks of a scenario's tools.

Nothing heavy is imported here, so ``import goalctl.tools.marking`` stays cheap.
"""
