# Installing the engine: `cmake --install` puts its public headers under <prefix>/include/cqrs/...
# (the paths they are included by), its libraries under <prefix>/lib, and a CMake package and
# pkg-config files beside them, so that another project can write
#
#   find_package(cqrs CONFIG REQUIRED COMPONENTS postgres kafka)   # components optional
#   target_link_libraries(app PRIVATE cqrs::cqrs cqrs::postgres cqrs::kafka)
#
# cqrs::cqrs is the embedded engine (core, log, store, sql, consumer, projection); cqrs::postgres
# adds the PostgreSQL store and read models, cqrs::kafka the Kafka bus. Only the contracts are
# installed: implementation headers (log segments, index builder, the PostgreSQL store's parts)
# stay in the tree. Third-party dependencies are found again by the package's config file
# (find_dependency), never written into it as paths of this machine.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# 0.x: every minor release may break the ABI, so the soname carries major.minor.
set(CQRS_SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR})

# The library's public headers (relative to cqrs/), which are installed; its other headers stay.
function(_cqrs_public lib)
  list(TRANSFORM ARGN PREPEND ${CMAKE_CURRENT_SOURCE_DIR}/)
  target_sources(${lib} PUBLIC FILE_SET HEADERS BASE_DIRS ${PROJECT_SOURCE_DIR} FILES ${ARGN})
  target_include_directories(${lib} PUBLIC $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  string(REGEX REPLACE "^cqrs_" "" export_name ${lib})
  # INSTALL_RPATH: a shared engine library finds the others beside it, wherever the prefix is.
  set_target_properties(${lib} PROPERTIES EXPORT_NAME ${export_name}
    VERSION ${PROJECT_VERSION} SOVERSION ${CQRS_SOVERSION} INSTALL_RPATH "$ORIGIN")
endfunction()
_cqrs_public(cqrs_core core/status.h core/types.h core/strong_int.h core/uuid.h core/sha256.h
  core/mutex.h core/thread_annotations.h core/loop_status.h core/time.h)
_cqrs_public(cqrs_log log/log.h log/record.h log/consumer_offsets.h log/verify.h)
_cqrs_public(cqrs_store store/event.h store/event_store.h store/expected_version.h store/query.h
  store/embedded_store.h store/polling_subscription.h store/upcasting_store.h store/log_point.h
  store/log_snapshot_store.h store/log_prefix_store.h store/checkpoint_check.h)
_cqrs_public(cqrs_sql sql/sqlite.h sql/group_commit.h sql/wal_folder.h sql/checkpointer.h)
_cqrs_public(cqrs_consumer consumer/handler.h consumer/keyed_lanes.h consumer/dispatcher.h
  consumer/offset_ledger.h consumer/store_consumer.h)
_cqrs_public(cqrs_projection projection/projection.h projection/runner.h
  projection/projection_runner.h projection/position_waiters.h projection/fresh_file_rebuild.h)
_cqrs_public(cqrs_pg pg/connection.h pg/migrations.h pg/pool.h pg/advisory_lock.h)
# store/postgres_store.h and store/postgres_verify.h forward to store/postgres/ (their former paths).
_cqrs_public(cqrs_store_postgres store/postgres/store.h store/postgres/verify.h store/postgres_store.h
  store/postgres_verify.h)
_cqrs_public(cqrs_projection_pg projection/pg_projection.h)
_cqrs_public(cqrs_snapshot snapshot/snapshot_store.h snapshot/aggregate.h)
_cqrs_public(cqrs_snapshot_pg snapshot/postgres_snapshot_store.h)
_cqrs_public(cqrs_kafka kafka/bus.h kafka/event_codec.h kafka/publisher.h kafka/async_publisher.h kafka/consumer.h kafka/relay.h)

# The umbrella targets a user links.
add_library(cqrs INTERFACE)
target_link_libraries(cqrs INTERFACE cqrs_core cqrs_log cqrs_store cqrs_sql cqrs_snapshot cqrs_consumer cqrs_projection)
add_library(cqrs_postgres INTERFACE)
set_target_properties(cqrs_postgres PROPERTIES EXPORT_NAME postgres)
target_link_libraries(cqrs_postgres INTERFACE cqrs cqrs_pg cqrs_store_postgres cqrs_snapshot_pg cqrs_projection_pg)
set_target_properties(cqrs_kafka PROPERTIES EXPORT_NAME kafka)
add_library(cqrs::cqrs ALIAS cqrs)
add_library(cqrs::postgres ALIAS cqrs_postgres)
add_library(cqrs::kafka ALIAS cqrs_kafka)

# What `cmake --install --component cqrs` needs built: `cmake --build BUILD --target cqrs_libraries`.
add_custom_target(cqrs_libraries)
add_dependencies(cqrs_libraries cqrs_core cqrs_log cqrs_store cqrs_sql cqrs_snapshot cqrs_consumer cqrs_projection
  cqrs_pg cqrs_store_postgres cqrs_snapshot_pg cqrs_projection_pg cqrs_kafka)

set(CQRS_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/cqrs)
foreach(_set IN ITEMS
    "cqrsTargets;cqrs_core;cqrs_log;cqrs_store;cqrs_sql;cqrs_snapshot;cqrs_consumer;cqrs_projection;cqrs"
    "cqrsPostgresTargets;cqrs_pg;cqrs_store_postgres;cqrs_snapshot_pg;cqrs_projection_pg;cqrs_postgres"
    "cqrsKafkaTargets;cqrs_kafka")
  list(POP_FRONT _set _export)
  install(TARGETS ${_set} EXPORT ${_export} COMPONENT cqrs
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
    LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
    FILE_SET HEADERS DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
  install(EXPORT ${_export} NAMESPACE cqrs:: DESTINATION ${CQRS_CMAKE_DIR} COMPONENT cqrs)
endforeach()

configure_package_config_file(${CMAKE_CURRENT_SOURCE_DIR}/cmake/cqrsConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/cqrsConfig.cmake INSTALL_DESTINATION ${CQRS_CMAKE_DIR})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/cqrsConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/cqrsConfig.cmake ${CMAKE_CURRENT_BINARY_DIR}/cqrsConfigVersion.cmake
  DESTINATION ${CQRS_CMAKE_DIR} COMPONENT cqrs)

# pkg-config: cqrs, cqrs-postgres, cqrs-kafka. Static libraries need their dependencies on the
# link line, so those are Requires; with shared libraries they are Requires.private.
if(BUILD_SHARED_LIBS)
  set(CQRS_PC_REQUIRES_FIELD "Requires.private")
  set(CQRS_PC_POSTGRES_REQUIRES "Requires: cqrs = ${PROJECT_VERSION}\nRequires.private: libpq")
  set(CQRS_PC_KAFKA_REQUIRES "Requires: cqrs-postgres = ${PROJECT_VERSION}\nRequires.private: rdkafka++ rdkafka")
else()
  set(CQRS_PC_REQUIRES_FIELD "Requires")
  set(CQRS_PC_POSTGRES_REQUIRES "Requires: cqrs = ${PROJECT_VERSION}, libpq")
  set(CQRS_PC_KAFKA_REQUIRES "Requires: cqrs-postgres = ${PROJECT_VERSION}, rdkafka++, rdkafka")
endif()
# Relocatable: the prefix is found from where the .pc file is (`cmake --install --prefix` may
# differ from the configured CMAKE_INSTALL_PREFIX).
file(RELATIVE_PATH CQRS_PC_TO_PREFIX /root/${CMAKE_INSTALL_LIBDIR}/pkgconfig /root)
foreach(_pc cqrs cqrs-postgres cqrs-kafka)
  configure_file(${CMAKE_CURRENT_SOURCE_DIR}/cmake/${_pc}.pc.in ${CMAKE_CURRENT_BINARY_DIR}/${_pc}.pc @ONLY)
  install(FILES ${CMAKE_CURRENT_BINARY_DIR}/${_pc}.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT cqrs)
endforeach()
