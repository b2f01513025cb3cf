#ifndef NEUROTOP_NCURSES_SHIM_H
#define NEUROTOP_NCURSES_SHIM_H
#define NCURSES_WIDECHAR 1
#define _XOPEN_SOURCE_EXTENDED 1
#include <locale.h>
#include <ncursesw/ncurses.h>

/* Macros Swift cannot import, as functions. */
static inline attr_t nt_a_normal(void) { return A_NORMAL; }
static inline attr_t nt_a_bold(void) { return A_BOLD; }
static inline attr_t nt_a_reverse(void) { return A_REVERSE; }
static inline attr_t nt_a_underline(void) { return A_UNDERLINE; }
static inline attr_t nt_a_dim(void) { return A_DIM; }
static inline int nt_key_f(int n) { return KEY_F(n); }
static inline int nt_max_y(WINDOW *w) { int y, x; getmaxyx(w, y, x); (void)x; return y; }
static inline int nt_max_x(WINDOW *w) { int y, x; getmaxyx(w, y, x); (void)y; return x; }
static inline WINDOW *nt_stdscr(void) { return stdscr; }
static inline int nt_colors(void) { return COLORS; }
static inline int nt_color_pairs(void) { return COLOR_PAIRS; }
static inline mmask_t nt_button1_pressed(void) { return BUTTON1_PRESSED; }
static inline mmask_t nt_button1_clicked(void) { return BUTTON1_CLICKED; }
static inline mmask_t nt_wheel_up(void) { return BUTTON4_PRESSED; }
static inline mmask_t nt_wheel_down(void) { return BUTTON5_PRESSED; }
/* Sets one cell to a wide character with attributes and an extended colour pair. */
static inline int nt_put(int y, int x, wchar_t ch, attr_t attrs, int pair) {
    cchar_t cell;
    wchar_t text[2] = { ch, 0 };
    setcchar(&cell, text, attrs, 0, &pair);
    return mvadd_wch(y, x, &cell);
}
#endif
