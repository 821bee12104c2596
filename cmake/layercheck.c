/* layercheck.c - links one layer whole with only the layers below it (see CMakeLists.txt). */
int main(void)
{
    return 0;
}
