"""The supervision ledger (督查台账): issues raised, answered, rectified, verified and closed
(销号), with extensions, escalation (督办) and the leaders' instructions. Its writes
(``services``), pages (``views``, ``forms``, ``filters``), API (``api``), admin and demo part."""
