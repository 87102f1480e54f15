"""Inspections (督查检查: visits, scores, photos, the supervision report), meetings (会议交办:
agenda, decisions raised as ledger issues) and notices (督办通知): who may see and do what
(``selectors``), the writes (``services``), pages (``views``, ``forms``, ``filters``, ``urls``),
the API (``api``), the admin and the demo's part."""
