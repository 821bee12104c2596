static int x_; int *codec_placeholder(void); int *codec_placeholder(void){return &x_;}
