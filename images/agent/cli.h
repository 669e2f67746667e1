/* The box command-line client. */
#pragma once
int cli_main(int argc, char **argv);
