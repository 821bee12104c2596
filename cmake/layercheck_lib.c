/* layercheck_lib.c - the shared library's own object; the layers are linked in whole. */
typedef int rill__shared_library_unit;
