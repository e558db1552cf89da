
BoutputJ("H¿HJˇæHJ?«X?HJøHJ>u‘+?g’·?xaz?g’·æ