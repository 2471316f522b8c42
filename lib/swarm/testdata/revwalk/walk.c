/* Golden-file helper for lib/swarm's WalkOrder (not used by the tests).
 * Prints the commits of a repository in the order libgit2 1.5.1 (the
 * library jamid 13.7.0 links) walks them with GIT_SORT_TOPOLOGICAL |
 * GIT_SORT_TIME from a start commit, as jamid's forEachCommit does.
 * No headers are needed: only a few C entry points are declared.
 *
 *   gcc -o /tmp/walk walk.c /usr/lib/x86_64-linux-gnu/libgit2.so.1.5
 *   /tmp/walk <repo> <start-hex>
 */
#include <stdio.h>

typedef struct { unsigned char id[20]; } git_oid;
typedef struct git_repository git_repository;
typedef struct git_revwalk git_revwalk;
int git_libgit2_init(void);
int git_repository_open(git_repository **out, const char *path);
int git_revwalk_new(git_revwalk **out, git_repository *repo);
int git_revwalk_sorting(git_revwalk *walk, unsigned int sort_mode);
int git_revwalk_push(git_revwalk *walk, const git_oid *id);
int git_revwalk_next(git_oid *out, git_revwalk *walk);
int git_oid_fromstr(git_oid *out, const char *str);
char *git_oid_tostr_s(const git_oid *oid);

int main(int argc, char **argv) {
    git_repository *repo;
    git_revwalk *walk;
    git_oid oid;
    if (argc != 3)
        return 2;
    git_libgit2_init();
    if (git_repository_open(&repo, argv[1]) < 0 || git_revwalk_new(&walk, repo) < 0)
        return 1;
    git_revwalk_sorting(walk, 1 | 2);
    if (git_oid_fromstr(&oid, argv[2]) < 0 || git_revwalk_push(walk, &oid) < 0)
        return 1;
    while (!git_revwalk_next(&oid, walk))
        printf("%s\n", git_oid_tostr_s(&oid));
    return 0;
}
