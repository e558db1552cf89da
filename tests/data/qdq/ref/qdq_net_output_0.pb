
BoutputJ("HÀ§ë¾HJ?VII?§k¿ÇØ>Äv	?gÕá?F½0?ÇØ¾