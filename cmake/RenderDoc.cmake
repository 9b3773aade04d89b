# Renders one document for the package (cmake -P), gzip'd without a name or
# a time stamp in its header (gzip -n): the same source gives the same bytes,
# as Debian wants for man pages and changelogs.
#   cmake -DSOURCE=man/x.8.scd -DOUTPUT=x.8.gz -DVERSION=0.1.0 [-DSCDOC=scdoc] -P RenderDoc.cmake
# @VERSION@ in the source becomes VERSION; with SCDOC the text is a scdoc(5)
# source and is rendered into a man page first.
cmake_minimum_required(VERSION 3.25)
foreach(var SOURCE OUTPUT VERSION)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "RenderDoc.cmake: ${var} is not set")
  endif()
endforeach()
file(READ "${SOURCE}" text)
string(REPLACE "@VERSION@" "${VERSION}" text "${text}")
set(plain "${OUTPUT}.tmp")
if(DEFINED SCDOC)
  set(versioned "${OUTPUT}.scd.tmp")
  file(WRITE "${versioned}" "${text}")
  execute_process(COMMAND "${SCDOC}" INPUT_FILE "${versioned}" OUTPUT_FILE "${plain}"
                  RESULT_VARIABLE rc ERROR_VARIABLE err)
  file(REMOVE "${versioned}")
  if(NOT rc EQUAL 0)
    file(REMOVE "${plain}")
    message(FATAL_ERROR "scdoc failed on ${SOURCE}: ${err}")
  endif()
else()
  file(WRITE "${plain}" "${text}")
endif()
execute_process(COMMAND gzip -9 -n -c INPUT_FILE "${plain}" OUTPUT_FILE "${OUTPUT}"
                RESULT_VARIABLE rc)
file(REMOVE "${plain}")
if(NOT rc EQUAL 0)
  file(REMOVE "${OUTPUT}")
  message(FATAL_ERROR "gzip failed on ${SOURCE}")
endif()
