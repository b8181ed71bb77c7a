#include "cli.h"
int gb_cmd_data(int argc, char **argv) { (void)argc; (void)argv; return 2; }
