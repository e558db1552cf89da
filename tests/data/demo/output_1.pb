
BoutputJ(l™Ae&3Àõé6@ŒÁ?úi9ÀMéÀWd•@t¸@ÀQ®À¿ÓŞÀ