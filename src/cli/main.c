/* main.c - cli layer: the rill command (placeholder until the runtime lands in this change). */
int main(void)
{
    return 0;
}
