// laporsmsd: the SMS gateway daemon for SP4N-LAPOR! (interfaces.md §1).
#include <laporsms/app/program.hpp>

int main(int argc, char** argv) {
  return laporsms::app::daemon_main(argc, argv, "laporsmsd");
}
