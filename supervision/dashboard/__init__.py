"""The leaders' dashboard (驾驶舱): every unit's figures for a day computed in one set-based pass
and stored (``figures``), labelled with drill-down links for the page, its workbook and the API
(``presenter``), and served (``views``, ``urls``, ``api``)."""
