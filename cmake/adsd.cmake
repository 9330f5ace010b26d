# Helpers so that each folder's CMakeLists.txt stays a few lines.
#
#   adsd_cc_library(NAME cqrs_log SRCS a.cc b.cc DEPS cqrs_core)
#   adsd_cc_test(NAME cqrs_log_test SRCS a_test.cc DEPS cqrs_log)
#   adsd_cc_binary(NAME adsctl SRCS main.cc DEPS cqrs_store)

# -Wno-missing-field-initializers: g++ 12 warns on designated initializers that leave members
# to their defaults, which is exactly what they are for (options structs).
set(ADSD_WARNINGS -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wimplicit-fallthrough
    -Wno-missing-field-initializers)

# ADSD_THREAD_SAFETY (clang only, scripts/thread-safety.sh): clang's static thread-safety analysis
# checks the GUARDED_BY / REQUIRES / EXCLUDES annotations of cqrs/core/thread_annotations.h, and
# any finding fails the build.
option(ADSD_THREAD_SAFETY "Check the thread-safety annotations with clang's -Wthread-safety" OFF)
if(ADSD_THREAD_SAFETY)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "ADSD_THREAD_SAFETY needs clang (e.g. -DCMAKE_CXX_COMPILER=clang++)")
  endif()
  list(APPEND ADSD_WARNINGS -Wthread-safety -Werror=thread-safety)
endif()

function(_adsd_apply_flags target)
  target_compile_options(${target} PRIVATE ${ADSD_WARNINGS})
  if(ADSD_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
  if(ADSD_SANITIZE)
    list(JOIN ADSD_SANITIZE "," _san)
    target_compile_options(${target} PRIVATE -fsanitize=${_san} -fno-omit-frame-pointer -fno-sanitize-recover=all)
    target_link_options(${target} PRIVATE -fsanitize=${_san})
  endif()
endfunction()

function(adsd_cc_library)
  cmake_parse_arguments(A "" "NAME" "SRCS;DEPS;PRIVATE_DEPS" ${ARGN})
  # Static unless BUILD_SHARED_LIBS is on. Headers are included from the project root
  # ("cqrs/store/event_store.h"); installed libraries find them under <prefix>/include instead
  # (cqrs/install.cmake).
  add_library(${A_NAME} ${A_SRCS})
  target_include_directories(${A_NAME} PUBLIC $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}>)
  target_link_libraries(${A_NAME} PUBLIC ${A_DEPS} PRIVATE ${A_PRIVATE_DEPS})
  _adsd_apply_flags(${A_NAME})
endfunction()

function(adsd_cc_binary)
  cmake_parse_arguments(A "" "NAME" "SRCS;DEPS" ${ARGN})
  add_executable(${A_NAME} ${A_SRCS})
  target_link_libraries(${A_NAME} PRIVATE ${A_DEPS})
  _adsd_apply_flags(${A_NAME})
endfunction()

function(adsd_cc_test)
  if(NOT ADSD_BUILD_TESTS)
    return()
  endif()
  # SERVERS: the test runs against the PostgreSQL and Kafka of the `servers` fixture.
  # KAFKA_CLUSTER: the test runs against the three-broker cluster of the `kafka_cluster` fixture
  #   ($ADSD_TEST_KAFKA_CLUSTER, $ADSD_KAFKA_CLUSTER_SCRIPT) and may kill its brokers, so such
  #   tests run one at a time (a resource lock), each binary as one ctest entry.
  # SERIAL: the test runs alone (it measures a ratio that other tests' load would skew).
  cmake_parse_arguments(A "SERVERS;KAFKA_CLUSTER;SERIAL" "NAME;TIMEOUT" "SRCS;DEPS" ${ARGN})
  if(NOT A_TIMEOUT)
    set(A_TIMEOUT 300)
  endif()
  add_executable(${A_NAME} ${A_SRCS})
  target_link_libraries(${A_NAME} PRIVATE ${A_DEPS} GTest::gmock GTest::gtest_main)
  _adsd_apply_flags(${A_NAME})
  set(_serial "")
  if(A_SERIAL)
    set(_serial RUN_SERIAL TRUE)
  endif()
  if(A_KAFKA_CLUSTER)
    # add_test rather than gtest_discover_tests: the latter flattens list-valued properties, and
    # ENVIRONMENT holds more than one variable here.
    set(_fixtures kafka_cluster)
    set(_env ADSD_TEST_KAFKA_CLUSTER=${ADSD_TEST_KAFKA_CLUSTER_DIR} ADSD_KAFKA_CLUSTER_SCRIPT=${ADSD_KAFKA_CLUSTER_SCRIPT})
    if(A_SERVERS)
      list(APPEND _fixtures servers)
      list(APPEND _env ADSD_TEST_SERVERS=${ADSD_TEST_SERVERS_DIR})
    endif()
    add_test(NAME ${A_NAME} COMMAND ${A_NAME})
    set_tests_properties(${A_NAME} PROPERTIES TIMEOUT ${A_TIMEOUT} FIXTURES_REQUIRED "${_fixtures}"
      RESOURCE_LOCK kafka_cluster ENVIRONMENT "${_env}" ${_serial})
  elseif(A_SERVERS)
    gtest_discover_tests(${A_NAME} DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT ${A_TIMEOUT}
      FIXTURES_REQUIRED servers ENVIRONMENT ADSD_TEST_SERVERS=${ADSD_TEST_SERVERS_DIR} ${_serial})
  else()
    gtest_discover_tests(${A_NAME} DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT ${A_TIMEOUT})
  endif()
endfunction()

#   adsd_fuzz_target(NAME log_record_fuzz SRC record_fuzz.cc DEPS cqrs_log)
# A libFuzzer target, built only with clang and -DADSD_FUZZ=ON (scripts/fuzz.sh).
function(adsd_fuzz_target)
  if(NOT (CMAKE_CXX_COMPILER_ID STREQUAL "Clang" AND ADSD_FUZZ))
    return()
  endif()
  cmake_parse_arguments(A "" "NAME;SRC" "DEPS" ${ARGN})
  add_executable(${A_NAME} ${A_SRC})
  target_link_libraries(${A_NAME} PRIVATE ${A_DEPS})
  target_compile_options(${A_NAME} PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_options(${A_NAME} PRIVATE -fsanitize=fuzzer,address,undefined)
endfunction()

#   adsd_embed_file(TARGET adsd_service INPUT docs/openapi.json FUNCTION adsd::app::OpenApiDocument)
# Adds to TARGET a source, generated at build time from INPUT (relative to the project root), that
# defines `std::string_view FUNCTION()` returning INPUT's bytes; it is regenerated when INPUT changes.
function(adsd_embed_file)
  cmake_parse_arguments(A "" "TARGET;INPUT;FUNCTION" "" ${ARGN})
  get_filename_component(_name ${A_INPUT} NAME_WE)
  set(_out ${CMAKE_CURRENT_BINARY_DIR}/${_name}_embedded.cc)
  add_custom_command(OUTPUT ${_out}
    COMMAND ${CMAKE_COMMAND} -DINPUT=${PROJECT_SOURCE_DIR}/${A_INPUT} -DOUTPUT=${_out} -DFUNCTION=${A_FUNCTION}
            -P ${PROJECT_SOURCE_DIR}/cmake/embed_file.cmake
    DEPENDS ${PROJECT_SOURCE_DIR}/${A_INPUT} ${PROJECT_SOURCE_DIR}/cmake/embed_file.cmake
    COMMENT "Embedding ${A_INPUT}" VERBATIM)
  target_sources(${A_TARGET} PRIVATE ${_out})
endfunction()
